"""Invitations to a workspace: an owner invites an email; the invitee accepts with a link.

Inviting never attaches an existing user and answers the same whether or not the email has an
account here, so the member form is no oracle for who is registered. The link carries a random
token (256 bits, shown once to the inviter; only its SHA-256 is stored), expires, and is used
at most once: the acceptance is a conditional UPDATE, so two parallel acceptances cannot both win.
The invitee either accepts while logged in as the invited email, or sets their own password on
the invitation page, which creates their user — nobody chooses a password for someone else.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import DuplicateError, FluenzrError, NotFoundError, ValidationError
from fluenzr.services.context import AppContext
from fluenzr.services.users import (
    NotAllowedError,
    Role,
    UserView,
    check_password,
    get_user,
    hash_password,
    normalise_email,
)
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Workspace
from fluenzr.storage.models.users import Invitation, Membership, User

LIFETIME = timedelta(days=7)
TOKEN_PREFIX = "inv_"  # noqa: S105  (a label, not a secret)


class InvitationInvalidError(FluenzrError):
    """Unknown, expired, revoked or already used: one answer, so a link reveals nothing."""

    code = ErrorCode.INVITATION_INVALID
    category = "auth"
    http_status = 404


class InvitationOtherUserError(FluenzrError):
    code = ErrorCode.INVITATION_OTHER_USER
    category = "auth"
    http_status = 403


class InvitationLoginRequiredError(FluenzrError):
    """The invited email already has an account: log in as it to accept (no new password)."""

    code = ErrorCode.INVITATION_LOGIN_REQUIRED
    category = "auth"
    http_status = 409


class InvitationView(BaseModel):
    id: int
    email: str
    role: str
    created_at: datetime
    expires_at: datetime


class InvitationCreated(InvitationView):
    token: str


class InvitationPreview(BaseModel):
    """What the invitation page shows the holder of a valid link."""

    workspace_name: str
    email: str
    role: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _view(row: Invitation) -> InvitationView:
    return InvitationView(
        id=row.id,
        email=row.email,
        role=row.role,
        created_at=aware(row.created_at) or row.created_at,
        expires_at=aware(row.expires_at) or row.expires_at,
    )


def _require_owner(session: Session, *, actor_id: int, workspace_id: int) -> None:
    role = session.scalar(
        select(Membership.role).where(
            Membership.user_id == actor_id, Membership.workspace_id == workspace_id
        )
    )
    if role != "owner":
        raise NotAllowedError()


def invite(
    ctx: AppContext, *, actor_id: int, workspace_id: int, email: str, role: Role = "member"
) -> InvitationCreated:
    """An owner invites an email. Same answer whether or not the email has an account; an
    earlier pending invitation to the same email is replaced (its link stops working)."""
    address = normalise_email(email)
    if role not in ("owner", "member"):
        raise ValidationError(ErrorCode.MEMBER_ROLE_INVALID, params={"field": "role"})
    now = ctx.clock.now()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(ctx.sessions) as session:
        _require_owner(session, actor_id=actor_id, workspace_id=workspace_id)
        # Members are listed on the workspace page anyway, so this says nothing new.
        already = session.scalar(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.workspace_id == workspace_id, User.email == address)
        )
        if already is not None:
            raise DuplicateError(
                ErrorCode.MEMBER_EXISTS, params={"field": "email", "email": address}
            )
        for old in session.scalars(
            select(Invitation).where(
                Invitation.workspace_id == workspace_id,
                Invitation.email == address,
                Invitation.accepted_at.is_(None),
            )
        ):
            session.delete(old)
        row = Invitation(
            workspace_id=workspace_id,
            email=address,
            role=role,
            token_hash=_hash(token),
            invited_by=actor_id,
            created_at=now,
            expires_at=now + LIFETIME,
        )
        session.add(row)
        session.flush()
        return InvitationCreated(**_view(row).model_dump(), token=token)


def list_pending(ctx: AppContext, *, actor_id: int, workspace_id: int) -> list[InvitationView]:
    now = ctx.clock.now()
    with ctx.sessions() as session:
        _require_owner(session, actor_id=actor_id, workspace_id=workspace_id)
        rows = session.scalars(
            select(Invitation)
            .where(
                Invitation.workspace_id == workspace_id,
                Invitation.accepted_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at, Invitation.id)
        )
        return [_view(row) for row in rows]


def revoke(ctx: AppContext, *, actor_id: int, workspace_id: int, invitation_id: int) -> None:
    with transaction(ctx.sessions) as session:
        _require_owner(session, actor_id=actor_id, workspace_id=workspace_id)
        row = session.get(Invitation, invitation_id)
        if row is None or row.workspace_id != workspace_id or row.accepted_at is not None:
            raise NotFoundError()
        session.delete(row)


def _valid(session: Session, token: str, now: datetime) -> Invitation:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise InvitationInvalidError()
    row = session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))
    expires = aware(row.expires_at) if row is not None else None
    if row is None or row.accepted_at is not None or expires is None or expires <= now:
        raise InvitationInvalidError()
    return row


def preview(ctx: AppContext, token: str) -> InvitationPreview:
    with ctx.sessions() as session:
        row = _valid(session, token, ctx.clock.now())
        workspace = session.get(Workspace, row.workspace_id)
        return InvitationPreview(
            workspace_name=workspace.name if workspace else "", email=row.email, role=row.role
        )


def _claim(session: Session, row: Invitation, *, user_id: int, now: datetime) -> None:
    """Use the invitation once: only one conditional UPDATE can match it."""
    used = session.execute(
        update(Invitation)
        .where(Invitation.id == row.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=now, accepted_by=user_id)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise InvitationInvalidError()
    member = session.scalar(
        select(Membership.id).where(
            Membership.user_id == user_id, Membership.workspace_id == row.workspace_id
        )
    )
    if member is None:
        session.add(Membership(user_id=user_id, workspace_id=row.workspace_id, role=row.role))


def accept(ctx: AppContext, *, token: str, user_id: int) -> int:
    """A logged-in user accepts; their email must be the invited one. Returns the workspace."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row = _valid(session, token, now)
        user = session.get(User, user_id)
        if user is None or user.email != row.email:
            raise InvitationOtherUserError(params={"email": row.email})
        _claim(session, row, user_id=user_id, now=now)
        user.last_workspace_id = row.workspace_id
        return row.workspace_id


def register(
    ctx: AppContext, *, token: str, password: Secret, name: str = ""
) -> tuple[UserView, int]:
    """The invitee has no account yet: create it with the password they chose, as a member.
    Returns the user and the workspace id."""
    check_password(password)
    now = ctx.clock.now()
    try:
        with transaction(ctx.sessions) as session:
            row = _valid(session, token, now)
            if session.scalar(select(User.id).where(User.email == row.email)) is not None:
                raise InvitationLoginRequiredError(params={"email": row.email})
            user = User(
                email=row.email,
                name=name.strip()[:200],
                password_hash=hash_password(password),
                is_admin=False,
                created_at=now,
                last_workspace_id=row.workspace_id,
            )
            session.add(user)
            session.flush()
            _claim(session, row, user_id=user.id, now=now)
            user_id, workspace_id = user.id, row.workspace_id
    except IntegrityError:  # the same email registered in parallel
        # from None: the driver's error repeats the INSERT's parameters (a password hash).
        raise InvitationLoginRequiredError() from None
    return get_user(ctx, user_id), workspace_id
