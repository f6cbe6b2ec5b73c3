"""The sending window of an account: the days and hours (in its time zone) it may send.

Stored as JSON ``{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}`` (0 = Monday), read by
``sending.pacing.Window``; ``None`` means any time. A start after the end crosses midnight:
the window opens on each chosen day and closes the next morning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import time

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import NotFoundError, ValidationError
from fluenzr.services.account_views import AccountView, to_view
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account

FIELD = "send_window"


def _hour(value: str, field: str) -> time:
    try:
        parsed = time.fromisoformat(value.strip())
    except (ValueError, AttributeError) as exc:
        raise ValidationError(ErrorCode.WINDOW_HOURS_INVALID, params={"field": field}) from exc
    return parsed.replace(second=0, microsecond=0, tzinfo=None)


def validate(days: Iterable[int], start: str, end: str) -> dict[str, object]:
    chosen = sorted(set(days))
    if not chosen or any(d < 0 or d > 6 for d in chosen):
        raise ValidationError(ErrorCode.WINDOW_DAYS_INVALID, params={"field": "days"})
    opens, closes = _hour(start, "start"), _hour(end, "end")
    if opens == closes:  # start after end crosses midnight (22:00–06:00)
        raise ValidationError(ErrorCode.WINDOW_HOURS_INVALID, params={"field": "end"})
    return {"days": chosen, "start": opens.strftime("%H:%M"), "end": closes.strftime("%H:%M")}


def set_window(
    ctx: AppContext,
    *,
    workspace_id: int,
    account_id: int,
    days: Iterable[int] | None,
    start: str = "00:00",
    end: str = "23:59",
) -> AccountView:
    """Set the window (``days=None``: send at any time)."""
    value = None if days is None else json.dumps(validate(days, start, end))
    with transaction(ctx.sessions) as session:
        account = session.get(Account, account_id)
        if account is None or account.workspace_id != workspace_id:
            raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id})
        account.send_window = value
        session.flush()
        return to_view(account)
