"""Pausing and resuming an account by hand (``fluenzr accounts pause|resume``, the web UI)."""

from __future__ import annotations

import json
from datetime import datetime, time

from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ConflictError, NotFoundError, ValidationError
from fluenzr.sending import pauses
from fluenzr.services.account_views import AccountView, to_view
from fluenzr.services.context import AppContext
from fluenzr.storage.account_pausing import pause_account
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account


def _load(session: Session, *, workspace_id: int, account_id: int) -> Account:
    account = session.get(Account, account_id, with_for_update=True)
    if account is None or account.workspace_id != workspace_id:
        raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id})
    return account


def pause(
    ctx: AppContext, *, workspace_id: int, account_id: int, until: datetime | None = None
) -> AccountView:
    """Stop sending from this account (until ``until``, else until resumed). Mail stays queued."""
    now = ctx.clock.now()
    if until is not None and until.tzinfo is None:
        raise ValidationError(ErrorCode.DATETIME_NEEDS_OFFSET, params={"field": "until"})
    if until is not None and until <= now:
        raise ValidationError(ErrorCode.PAUSE_UNTIL_PAST, params={"field": "until"})
    with transaction(ctx.sessions) as session:
        account = _load(session, workspace_id=workspace_id, account_id=account_id)
        pause_account(session, account, reason=ErrorCode.MANUAL, now=now, until=until)
        session.flush()
        return to_view(account)


def resume(ctx: AppContext, *, workspace_id: int, account_id: int) -> AccountView:
    """Lift any pause (manual, provider limit, authentication failure) now."""
    with transaction(ctx.sessions) as session:
        account = _load(session, workspace_id=workspace_id, account_id=account_id)
        if account.status != "paused":
            raise ConflictError(ErrorCode.ACCOUNT_NOT_PAUSED, params={"id": account_id})
        pauses.resume_account(session, account, now=ctx.clock.now(), by="manual")
        session.flush()
        return to_view(account)


_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def _days(text: str) -> list[int]:
    out: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        low, _, high = part.partition("-")
        first = _DAYS.get(low, int(low) if low.isdigit() else -1)
        last = _DAYS.get(high, int(high) if high.isdigit() else -1) if high else first
        if not (0 <= first <= 6 and 0 <= last <= 6 and first <= last):
            raise ValidationError(ErrorCode.WINDOW_INVALID, params={"field": "days", "value": text})
        out.update(range(first, last + 1))
    return sorted(out)


def _clock_time(value: str, *, field: str) -> str:
    try:
        hours, _, minutes = value.strip().partition(":")
        parsed = time(int(hours), int(minutes or 0))
    except ValueError as exc:
        raise ValidationError(
            ErrorCode.WINDOW_INVALID, params={"field": field, "value": value}
        ) from exc
    return parsed.strftime("%H:%M")


def window_json(days: str | None, start: str | None, end: str | None) -> str:
    """``{"days": [...], "start": "HH:MM", "end": "HH:MM"}`` from what a user typed."""
    begin = _clock_time(start or "00:00", field="start")
    finish = _clock_time(end or "23:59", field="end")
    if begin >= finish:
        raise ValidationError(ErrorCode.WINDOW_INVALID, params={"field": "end", "value": end or ""})
    chosen = _days(days) if days else list(range(7))
    return json.dumps({"days": chosen, "start": begin, "end": finish})


def set_pacing(
    ctx: AppContext,
    *,
    workspace_id: int,
    account_id: int,
    window: str | None = None,
    clear_window: bool = False,
    warmup_start: int | None = None,
    warmup_increment: int | None = None,
    clear_warmup: bool = False,
) -> AccountView:
    """Sending window and warm-up ramp (caps and spacing are ``accounts edit`` options)."""
    for name, value, low in (
        ("warmup_start", warmup_start, 1),
        ("warmup_increment", warmup_increment, 0),
    ):
        if value is not None and not low <= value <= 100_000:
            raise ValidationError(ErrorCode.WARMUP_INVALID, params={"field": name, "value": value})
    with transaction(ctx.sessions) as session:
        account = _load(session, workspace_id=workspace_id, account_id=account_id)
        if clear_window:
            account.send_window = None
        elif window is not None:
            account.send_window = window
        if clear_warmup:
            account.warmup_start = account.warmup_increment = account.warmup_started_on = None
        elif warmup_start is not None:
            account.warmup_start = warmup_start
            account.warmup_increment = warmup_increment or 0
            account.warmup_started_on = ctx.clock.now()
        session.flush()
        return to_view(account)
