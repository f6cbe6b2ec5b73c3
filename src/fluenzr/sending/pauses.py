"""Pausing and resuming an account — by a provider limit, an auth failure, a person — as events.

An ``auth_failed`` pause (also ``relay_denied``, ``sender_rejected``) has no end time: it lifts
when the credentials change (the account's ``credentials_changed_at`` is newer than the pause)
or by hand. Any other pause with an end time lifts by itself once that time has passed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.storage.account_pausing import sending_state
from fluenzr.storage.base import aware
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account
from fluenzr.storage.models.outbox import SendingState

# Pauses that last until the account is fixed: new credentials (or a manual resume).
# A password that no longer matches its server (``credentials_endpoint_changed``) or was never
# bound to one (``credentials_need_rebind``) waits for the password to be entered again.
UNTIL_FIXED: frozenset[str] = frozenset(
    {
        ErrorCode.AUTH_FAILED,
        ErrorCode.RELAY_DENIED,
        ErrorCode.SENDER_REJECTED,
        ErrorCode.CREDENTIALS_ENDPOINT_CHANGED,
        ErrorCode.CREDENTIALS_NEED_REBIND,
        # OAuth: the consent is gone; "Reconectar" stores new tokens (credentials change).
        ErrorCode.RECONNECT_REQUIRED,
    }
)


def resume_account(session: Session, account: Account, *, now: datetime, by: str) -> None:
    previous = account.status_reason
    account.status = "active"
    account.status_reason = None
    account.paused_until = None
    state = sending_state(session, account.id)
    state.paused_at = None
    state.backoff_level = 0
    record_event(
        session,
        workspace_id=account.workspace_id,
        account_id=account.id,
        type="account_resumed",
        data={"by": by, "reason": previous, "at": now.isoformat()},
    )


def auto_resume(session: Session, account: Account, state: SendingState, *, now: datetime) -> bool:
    """Lift a pause whose time has come (or whose credentials changed). True if now active."""
    if account.status != "paused":
        return True
    if account.status_reason in UNTIL_FIXED:
        changed, paused = aware(account.credentials_changed_at), aware(state.paused_at)
        if changed is not None and (paused is None or changed > paused):
            resume_account(session, account, now=now, by="credentials_changed")
            return True
        return False
    until = aware(account.paused_until)
    if until is not None and until <= now:
        resume_account(session, account, now=now, by="auto")
        return True
    return False


def back_off(
    session: Session, account: Account, *, now: datetime, delay: timedelta, error: dict[str, Any]
) -> None:
    """The account could not be reached: try again after ``delay``; messages stay queued."""
    state = sending_state(session, account.id)
    state.backoff_level += 1
    state.next_send_at = now + delay
    account.last_error = json.dumps(error, ensure_ascii=False)
