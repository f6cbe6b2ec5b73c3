"""Users and workspaces: first-run admin, login (throttled by ``login_throttle``), memberships.

Passwords are hashed with argon2id; the plain password only ever travels as a ``Secret``.
A user sees a workspace only through a membership; callers turn "not a member" into 404.
"""

from __future__ import annotations

from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import (
    ConflictError,
    DuplicateError,
    FluenzrError,
    NotFoundError,
    ValidationError,
)
from fluenzr.services import account_rules, login_throttle
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Workspace
from fluenzr.storage.models.users import Membership, User

Role = Literal["owner", "member"]
MIN_PASSWORD = 10
MAX_PASSWORD = 1024

_hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("fluenzr-dummy-password")


class LoginFailedError(FluenzrError):
    code = ErrorCode.LOGIN_FAILED
    category = "auth"
    http_status = 401


class NotAuthenticatedError(FluenzrError):
    code = ErrorCode.NOT_AUTHENTICATED
    category = "auth"
    http_status = 401


class UserView(BaseModel):
    id: int
    email: str
    name: str
    is_admin: bool


class WorkspaceView(BaseModel):
    id: int
    name: str
    role: str


def _view(user: User) -> UserView:
    return UserView(id=user.id, email=user.email, name=user.name, is_admin=user.is_admin)


def normalise_email(value: str) -> str:
    try:
        return account_rules.email(value).lower()  # one rule for every address we accept
    except ValidationError as exc:
        raise ValidationError(ErrorCode.USER_EMAIL_INVALID, params={"field": "email"}) from exc


def hash_password(password: Secret) -> str:
    return _hasher.hash(password.reveal())


def check_password(password: Secret) -> None:
    length = len(password.reveal())
    if length < MIN_PASSWORD or length > MAX_PASSWORD:
        raise ValidationError(
            ErrorCode.USER_PASSWORD_LENGTH,
            params={"field": "password", "min": MIN_PASSWORD, "max": MAX_PASSWORD},
        )


def needs_setup(ctx: AppContext) -> bool:
    """True on a fresh install: nobody can log in yet."""
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(User)) == 0


def _first_workspace(session: Session) -> int:
    found = session.scalar(select(Workspace.id).order_by(Workspace.id).limit(1))
    if found is None:
        workspace = Workspace(name="Default")
        session.add(workspace)
        session.flush()
        return workspace.id
    return found


def _insert_user(
    session: Session, *, email: str, name: str, password: Secret, is_admin: bool
) -> User:
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DuplicateError(ErrorCode.USER_EXISTS, params={"field": "email", "email": email})
    user = User(
        email=email,
        name=name.strip()[:200],
        password_hash=_hasher.hash(password.reveal()),
        is_admin=is_admin,
    )
    session.add(user)
    session.flush()
    return user


def setup_admin(ctx: AppContext, *, email: str, name: str, password: Secret) -> UserView:
    """Create the first user (admin, owner of the first workspace). Only on a fresh install."""
    address = normalise_email(email)
    check_password(password)
    with transaction(ctx.sessions) as session:
        if session.scalar(select(func.count()).select_from(User)):
            raise ConflictError(ErrorCode.SETUP_DONE)
        user = _insert_user(session, email=address, name=name, password=password, is_admin=True)
        session.add(
            Membership(user_id=user.id, workspace_id=_first_workspace(session), role="owner")
        )
        return _view(user)


def create_user(
    ctx: AppContext,
    *,
    email: str,
    password: Secret,
    name: str = "",
    workspace_id: int | None = None,
    new_workspace: str | None = None,
    role: Role = "member",
    is_admin: bool = False,
) -> tuple[UserView, int]:
    """Add a user to an existing workspace, or to a new one named ``new_workspace``.

    Returns the user and the workspace id they belong to.
    """
    address = normalise_email(email)
    check_password(password)
    with transaction(ctx.sessions) as session:
        if new_workspace is not None:
            label = new_workspace.strip()
            if not label or len(label) > 200:
                raise ValidationError(
                    ErrorCode.WORKSPACE_NAME_INVALID, params={"field": "workspace"}
                )
            workspace = Workspace(name=label)
            session.add(workspace)
            session.flush()
            target, role = workspace.id, "owner"
        elif workspace_id is not None:
            if session.get(Workspace, workspace_id) is None:
                raise NotFoundError(params={"field": "workspace"})
            target = workspace_id
        else:
            target = _first_workspace(session)
        user = _insert_user(session, email=address, name=name, password=password, is_admin=is_admin)
        session.add(Membership(user_id=user.id, workspace_id=target, role=role))
        return _view(user), target


def authenticate(ctx: AppContext, *, email: str, password: Secret, client: str) -> UserView:
    """Check a login. Wrong email and wrong password look the same; a locked-out
    (account, client) pair or client address gets 429 before any password is checked."""
    address = email.strip().lower()[:320]
    attempt = login_throttle.begin(ctx, email=address, client=client)
    with transaction(ctx.sessions) as session:
        user = session.scalar(select(User).where(User.email == address))
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password.reveal())
            ok = user is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None:
            raise LoginFailedError()  # already counted by begin()
        user.last_login_at = ctx.clock.now()
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password.reveal())
        view = _view(user)
    login_throttle.succeeded(ctx, attempt)
    return view


def get_user(ctx: AppContext, user_id: int) -> UserView:
    with ctx.sessions() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFoundError()
        return _view(user)


def user_by_email(ctx: AppContext, email: str) -> UserView:
    with ctx.sessions() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFoundError(params={"field": "user"})
        return _view(user)


def workspaces_of(ctx: AppContext, user_id: int) -> list[WorkspaceView]:
    with ctx.sessions() as session:
        rows = session.execute(
            select(Workspace.id, Workspace.name, Membership.role)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(Membership.user_id == user_id)
            .order_by(Workspace.id)
        ).all()
        return [WorkspaceView(id=row[0], name=row[1], role=row[2]) for row in rows]


def is_member(ctx: AppContext, *, user_id: int, workspace_id: int) -> bool:
    with ctx.sessions() as session:
        found = session.scalar(
            select(Membership.id).where(
                Membership.user_id == user_id, Membership.workspace_id == workspace_id
            )
        )
        return found is not None


class NotAllowedError(FluenzrError):
    code = ErrorCode.NOT_ALLOWED
    category = "auth"
    http_status = 403


class MemberView(BaseModel):
    user_id: int
    email: str
    name: str
    role: str


def _role(session: Session, *, user_id: int, workspace_id: int) -> str | None:
    return session.scalar(
        select(Membership.role).where(
            Membership.user_id == user_id, Membership.workspace_id == workspace_id
        )
    )


def list_members(ctx: AppContext, *, workspace_id: int) -> list[MemberView]:
    with ctx.sessions() as session:
        rows = session.execute(
            select(User.id, User.email, User.name, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == workspace_id)
            .order_by(User.email)
        ).all()
        return [MemberView(user_id=r[0], email=r[1], name=r[2], role=r[3]) for r in rows]


def remove_member(ctx: AppContext, *, actor_id: int, workspace_id: int, user_id: int) -> None:
    """An owner removes a member; the last owner cannot leave the workspace ownerless."""
    with transaction(ctx.sessions) as session:
        if _role(session, user_id=actor_id, workspace_id=workspace_id) != "owner":
            raise NotAllowedError()
        row = session.scalar(
            select(Membership).where(
                Membership.user_id == user_id, Membership.workspace_id == workspace_id
            )
        )
        if row is None:
            raise NotFoundError()
        owners = session.scalar(
            select(func.count()).where(
                Membership.workspace_id == workspace_id, Membership.role == "owner"
            )
        )
        if row.role == "owner" and (owners or 0) <= 1:
            raise ConflictError(ErrorCode.LAST_OWNER)
        session.delete(row)


def session_workspace(ctx: AppContext, user_id: int) -> int | None:
    """The workspace a new login opens: the one the user last chose, else their most recent
    membership (e.g. the invitation just accepted). Never "the lowest id"."""
    with ctx.sessions() as session:
        user = session.get(User, user_id)
        if user is None:
            return None
        if user.last_workspace_id is not None and _role(
            session, user_id=user_id, workspace_id=user.last_workspace_id
        ):
            return user.last_workspace_id
        return session.scalar(
            select(Membership.workspace_id)
            .where(Membership.user_id == user_id)
            .order_by(Membership.created_at.desc(), Membership.id.desc())
            .limit(1)
        )


def remember_workspace(ctx: AppContext, *, user_id: int, workspace_id: int) -> None:
    with transaction(ctx.sessions) as session:
        user = session.get(User, user_id)
        if user is not None:
            user.last_workspace_id = workspace_id
