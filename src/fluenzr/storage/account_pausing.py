"""Pausing an account, as rows: its status, its sending state's ``paused_at`` and an event.

Sending pauses an account on a provider limit or an auth failure, detection on a bounce rate,
a person by hand; the rules for when a pause lifts are sending's (``sending.pauses``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account
from fluenzr.storage.models.outbox import SendingState


def sending_state(session: Session, account_id: int) -> SendingState:
    state = session.scalar(select(SendingState).where(SendingState.account_id == account_id))
    if state is None:
        state = SendingState(
            account_id=account_id, day_key="", day_count=0, hour_key="", hour_count=0
        )
        state.backoff_level = 0
        session.add(state)
    return state


def pause_account(
    session: Session,
    account: Account,
    *,
    reason: ErrorCode,
    now: datetime,
    until: datetime | None,
    error: dict[str, Any] | None = None,
) -> None:
    account.status = "paused"
    account.status_reason = reason
    account.paused_until = until
    if error is not None:
        account.last_error = json.dumps(error, ensure_ascii=False)
    sending_state(session, account.id).paused_at = now
    record_event(
        session,
        workspace_id=account.workspace_id,
        account_id=account.id,
        type="account_paused",
        data={"reason": reason, "until": until.isoformat() if until else None, **(error or {})},
    )
