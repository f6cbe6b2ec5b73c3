"""Login throttling: a growing lockout per (account, client address) plus a ceiling per address.

An attempt is counted *before* the password is checked (pessimistically, as a failure) in one
short transaction that holds the rows' locks, so parallel guesses are all counted and none can
slip past the check; a right password then clears its (account, client) row. Someone failing from
another address never locks the owner out: their failures land on other keys.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import FluenzrError
from fluenzr.services.context import AppContext
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models.users import LoginThrottle


@dataclass(frozen=True)
class Policy:
    free: int  # failures allowed before any lockout
    base: timedelta  # lockout set by failure ``free + 1``; doubles with each further one
    cap: timedelta  # longest lockout
    forget: timedelta  # a key with no failure for this long starts again from zero

    def lockout(self, failures: int) -> timedelta | None:
        beyond = failures - self.free
        if beyond <= 0:
            return None
        return min(self.base * (1 << min(beyond - 1, 30)), self.cap)


ACCOUNT = Policy(
    free=4, base=timedelta(seconds=30), cap=timedelta(hours=1), forget=timedelta(days=1)
)
CLIENT = Policy(
    free=99, base=timedelta(minutes=15), cap=timedelta(hours=24), forget=timedelta(days=1)
)


class RateLimitedError(FluenzrError):
    code = ErrorCode.LOGIN_RATE_LIMITED
    category = "auth"
    http_status = 429


@dataclass(frozen=True)
class Attempt:
    """A counted attempt; ``succeeded`` takes it back for a right password."""

    account_key: str
    client_key: str
    client_locked_until: datetime | None = None  # before this attempt was counted


def keys(*, email: str, client: str) -> Attempt:
    return Attempt(account_key=f"acct:{email}|{client}"[:400], client_key=f"client:{client}"[:400])


def _ensure_rows(session: Session, names: tuple[str, ...], now: datetime) -> None:
    """Create missing rows with one UPSERT each (a write: SQLite takes its write lock here)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for name in names:
        session.execute(
            insert(LoginThrottle)
            .values(key=name, failures=0, locked_until=None, updated_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )


def _retry_minutes(until: datetime, now: datetime) -> int:
    return max(1, -(-int((until - now).total_seconds()) // 60))


def begin(ctx: AppContext, *, email: str, client: str) -> Attempt:
    """Count an attempt, or refuse it (429) while either key is locked out."""
    attempt = keys(email=email, client=client)
    names = (attempt.account_key, attempt.client_key)
    policies = {attempt.account_key: ACCOUNT, attempt.client_key: CLIENT}
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        _ensure_rows(session, names, now)
        rows = session.scalars(
            select(LoginThrottle)
            .where(LoginThrottle.key.in_(names))
            .order_by(LoginThrottle.key)  # one lock order, no deadlock between two logins
            .with_for_update()
        ).all()
        for row in rows:
            until = aware(row.locked_until)
            if until is not None and until > now:
                raise RateLimitedError(params={"minutes": _retry_minutes(until, now)})
        for row in rows:
            if row.key == attempt.client_key:
                attempt = dataclasses.replace(attempt, client_locked_until=row.locked_until)
            policy = policies[row.key]
            updated = aware(row.updated_at) or now
            failures = 0 if now - updated > policy.forget else row.failures
            row.failures = failures + 1
            row.updated_at = now
            lockout = policy.lockout(row.failures)
            row.locked_until = now + lockout if lockout is not None else None
        # Old rows no longer matter: the table stays small under a spray of addresses.
        session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.updated_at < now - max(ACCOUNT.forget, CLIENT.forget),
                LoginThrottle.key.not_in(names),
            )
        )
    return attempt


def succeeded(ctx: AppContext, attempt: Attempt) -> None:
    """The password was right: clear the (account, client) key and take back the client's count."""
    with transaction(ctx.sessions) as session:
        session.execute(delete(LoginThrottle).where(LoginThrottle.key == attempt.account_key))
        row = session.scalar(
            select(LoginThrottle).where(LoginThrottle.key == attempt.client_key).with_for_update()
        )
        if row is not None and row.failures > 0:
            row.failures -= 1
            row.locked_until = attempt.client_locked_until  # as if it had never been counted


def failures(ctx: AppContext, key: str) -> int:
    """The counted failures of one key (for tests and diagnostics)."""
    with ctx.sessions() as session:
        return int(
            session.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == key)) or 0
        )
