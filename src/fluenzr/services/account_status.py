"""Pausing and resuming an account by hand (``fluenzr accounts pause|resume``, the web UI)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fluenzr.errors import ConflictError, NotFoundError, ValidationError
from fluenzr.sending import pauses
from fluenzr.services.account_views import AccountView, to_view
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account


def _load(session: Session, *, workspace_id: int, account_id: int) -> Account:
    account = session.get(Account, account_id, with_for_update=True)
    if account is None or account.workspace_id != workspace_id:
        raise NotFoundError("account_not_found", params={"id": account_id})
    return account


def pause(
    ctx: AppContext, *, workspace_id: int, account_id: int, until: datetime | None = None
) -> AccountView:
    """Stop sending from this account (until ``until``, else until resumed). Mail stays queued."""
    now = ctx.clock.now()
    if until is not None and until.tzinfo is None:
        raise ValidationError("datetime_needs_offset", params={"field": "until"})
    if until is not None and until <= now:
        raise ValidationError("pause_until_past", params={"field": "until"})
    with transaction(ctx.sessions) as session:
        account = _load(session, workspace_id=workspace_id, account_id=account_id)
        pauses.pause_account(session, account, reason=pauses.MANUAL, now=now, until=until)
        session.flush()
        return to_view(account)


def resume(ctx: AppContext, *, workspace_id: int, account_id: int) -> AccountView:
    """Lift any pause (manual, provider limit, authentication failure) now."""
    with transaction(ctx.sessions) as session:
        account = _load(session, workspace_id=workspace_id, account_id=account_id)
        if account.status != "paused":
            raise ConflictError("account_not_paused", params={"id": account_id})
        pauses.resume_account(session, account, now=ctx.clock.now(), by="manual")
        session.flush()
        return to_view(account)
