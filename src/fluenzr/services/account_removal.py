"""Removing an account, saying first what goes with it.

Deleting the row cancels the mail still queued for it (those messages are deleted, never sent)
and deletes its sent history and detected replies (foreign keys ``ON DELETE CASCADE``); the
workspace's events stay, without the account, and so does the suppression list. An account
with history is only removed when the caller typed its address (the web UI's confirmation).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import func, select

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import NotFoundError, ValidationError
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.detection import IncomingMessage
from fluenzr.storage.models.events import Event
from fluenzr.storage.models.outbox import DEFERRED, QUEUED, SENDING, OutboxMessage

PENDING = (QUEUED, DEFERRED, SENDING)


@dataclass(frozen=True)
class History:
    queued: int  # still to be sent: cancelled by the removal
    sent: int  # every other outbox message (sent, failed, cancelled…): deleted
    replies: int  # detected incoming messages: deleted
    events: int  # kept, without the account

    @property
    def any(self) -> bool:
        return bool(self.queued or self.sent or self.replies or self.events)


@dataclass(frozen=True)
class Removed:
    email: str
    queued: int

    def query(self, key: str) -> str:
        """The confirmation's query string, signed with ``key`` (the session's CSRF token) so a
        crafted link cannot make the page announce a removal that did not happen."""
        return urlencode(
            {
                "deleted": self.email,
                "cancelled": self.queued,
                "sig": sign(key, self.email, self.queued),
            }
        )


def sign(key: str, email: str, queued: int) -> str:
    return hmac.new(key.encode(), f"{email}\n{queued}".encode(), hashlib.sha256).hexdigest()[:32]


def verified(key: str, email: str, queued: str, sig: str) -> bool:
    if not email or not queued.isdigit() or len(queued) > 9:
        return False
    return hmac.compare_digest(sign(key, email, int(queued)), sig)


def _count(session: object, query: object) -> int:
    return int(session.scalar(query) or 0)  # type: ignore[attr-defined]


def history(ctx: AppContext, *, workspace_id: int, account_id: int) -> History:
    with ctx.sessions() as session:
        account = session.get(Account, account_id)
        if account is None or account.workspace_id != workspace_id:
            raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id})
        of_account = OutboxMessage.account_id == account_id
        total = select(func.count()).select_from(OutboxMessage).where(of_account)
        queued = _count(session, total.where(OutboxMessage.status.in_(PENDING)))
        return History(
            queued=queued,
            sent=_count(session, total) - queued,
            replies=_count(
                session,
                select(func.count())
                .select_from(IncomingMessage)
                .where(IncomingMessage.account_id == account_id),
            ),
            events=_count(
                session,
                select(func.count()).select_from(Event).where(Event.account_id == account_id),
            ),
        )


def remove(ctx: AppContext, *, workspace_id: int, account_id: int, typed_email: str) -> Removed:
    """Remove the account; one with history needs ``typed_email`` equal to its address."""
    past = history(ctx, workspace_id=workspace_id, account_id=account_id)
    with transaction(ctx.sessions) as session:
        account = session.get(Account, account_id)
        if account is None or account.workspace_id != workspace_id:
            raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id})
        if past.any and typed_email.strip().lower() != account.email.lower():
            raise ValidationError(
                ErrorCode.DELETE_CONFIRMATION_MISMATCH,
                params={"field": "confirm_email", "email": account.email},
            )
        email = account.email
        session.delete(account)
    return Removed(email=email, queued=past.queued)
