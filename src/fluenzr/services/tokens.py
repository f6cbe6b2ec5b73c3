"""Bearer tokens for the API and browser sessions: random values shown once, stored as SHA-256.

A token has 256 bits of entropy, so a plain SHA-256 (no salt, no slow hash) is enough to make a
leaked table useless while letting us look a token up by its hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import NotFoundError, ValidationError
from fluenzr.services.context import AppContext
from fluenzr.services.users import is_member
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models.users import ApiToken, Membership, User, WebSession

TOKEN_PREFIX = "flz_"  # noqa: S105  (a label, not a secret)
SESSION_LIFETIME = timedelta(days=14)
USE_RESOLUTION = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenView(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class Principal:
    """Who is calling, and in which workspace they act."""

    user_id: int
    email: str
    workspace_id: int
    is_admin: bool
    csrf_token: str | None = None  # browser sessions only


def _token_view(row: ApiToken) -> TokenView:
    return TokenView(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=aware(row.created_at) or row.created_at,
        last_used_at=aware(row.last_used_at),
    )


def create_token(
    ctx: AppContext, *, user_id: int, workspace_id: int, name: str
) -> tuple[TokenView, Secret]:
    """A new API token for a user in one workspace; the value is returned once, never again."""
    label = name.strip()
    if not label or len(label) > 100:
        raise ValidationError(ErrorCode.TOKEN_NAME_INVALID, params={"field": "name"})
    if not is_member(ctx, user_id=user_id, workspace_id=workspace_id):
        raise NotFoundError(params={"field": "workspace"})
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(ctx.sessions) as session:
        row = ApiToken(
            user_id=user_id,
            workspace_id=workspace_id,
            name=label,
            token_hash=_hash(value),
            prefix=value[:10],
            created_at=ctx.clock.now(),
        )
        session.add(row)
        session.flush()
        return _token_view(row), Secret(value)


def list_tokens(ctx: AppContext, *, user_id: int) -> list[TokenView]:
    with ctx.sessions() as session:
        rows = session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
        )
        return [_token_view(row) for row in rows]


def revoke_token(ctx: AppContext, *, user_id: int, token_id: int) -> None:
    with transaction(ctx.sessions) as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.user_id != user_id:
            raise NotFoundError()
        session.delete(row)


def _principal(
    session: Session, *, user_id: int, workspace_id: int, csrf: str | None
) -> Principal | None:
    user = session.get(User, user_id)
    member = session.scalar(
        select(Membership.id).where(
            Membership.user_id == user_id, Membership.workspace_id == workspace_id
        )
    )
    if user is None or member is None:
        return None
    return Principal(
        user_id=user.id,
        email=user.email,
        workspace_id=workspace_id,
        is_admin=user.is_admin,
        csrf_token=csrf,
    )


def principal_for_token(ctx: AppContext, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with transaction(ctx.sessions) as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
        if row is None:
            return None
        now = ctx.clock.now()
        last = aware(row.last_used_at)
        if last is None or now - last > USE_RESOLUTION:
            row.last_used_at = now  # coarse, so a busy client does not write on every call
        return _principal(session, user_id=row.user_id, workspace_id=row.workspace_id, csrf=None)


def start_session(ctx: AppContext, *, user_id: int, workspace_id: int) -> tuple[Secret, str]:
    """A browser session; returns (cookie value, CSRF token)."""
    value = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        session.execute(delete(WebSession).where(WebSession.expires_at < now))
        session.add(
            WebSession(
                token_hash=_hash(value),
                user_id=user_id,
                workspace_id=workspace_id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return Secret(value), csrf


def principal_for_session(ctx: AppContext, cookie: str) -> Principal | None:
    if not cookie or len(cookie) > 200:
        return None
    with ctx.sessions() as session:
        row = session.scalar(select(WebSession).where(WebSession.token_hash == _hash(cookie)))
        if row is None:
            return None
        expires = aware(row.expires_at)
        if expires is None or expires <= ctx.clock.now():
            return None
        return _principal(
            session, user_id=row.user_id, workspace_id=row.workspace_id, csrf=row.csrf_token
        )


def switch_workspace(ctx: AppContext, *, cookie: str, user_id: int, workspace_id: int) -> None:
    if not is_member(ctx, user_id=user_id, workspace_id=workspace_id):
        raise NotFoundError()
    with transaction(ctx.sessions) as session:
        row = session.scalar(select(WebSession).where(WebSession.token_hash == _hash(cookie)))
        if row is not None and row.user_id == user_id:
            row.workspace_id = workspace_id


def end_session(ctx: AppContext, cookie: str) -> None:
    with transaction(ctx.sessions) as session:
        session.execute(delete(WebSession).where(WebSession.token_hash == _hash(cookie)))
