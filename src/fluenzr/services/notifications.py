"""Notifications: what needs the user's attention, read from the event log.

An account paused by the sending system (a provider limit, a bounce rate), an account that
needs its credentials again before it can reconnect (an authentication failure, a password no
longer bound to its server), and a Probar that failed. A pause made by hand and a test that
passed are not notifications. Each user has a read cursor per workspace (``notification_reads``).

Email: a workspace owner may choose one of the workspace's accounts; every later notification
is then queued in the normal outbox from that account to the workspace's owners (paced, retried,
visible in "Envíos" like any message). The cursor ``emailed_up_to`` moves in the same
transaction as the enqueue, compare-and-set, so two workers never mail one notification twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, func, not_, or_, select, update
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import FluenzrError, ValidationError
from fluenzr.i18n import has_message, normalise_language, translate
from fluenzr.sending import pauses, suppression
from fluenzr.services import bulk_jobs, outbox
from fluenzr.services.context import AppContext
from fluenzr.services.paging import Page, clamp
from fluenzr.services.users import NotAllowedError
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.inbox_marks import NotificationRead, NotificationSettings
from fluenzr.storage.models.users import Membership, User

log = logging.getLogger(__name__)
KINDS = ("reconnect", "paused", "account_error", "bulk_done")
MAX_UNREAD = 99  # the bell shows "99+" beyond
EMAIL_BATCH = 20
POLL_SECONDS = 2.0


class NotificationView(BaseModel):
    id: int  # the event's id
    kind: str  # reconnect | paused | account_error
    account_id: int | None
    account_email: str | None
    reason: str | None  # the error code behind it
    until: str | None  # a pause's end, ISO 8601, when it has one
    created_at: datetime
    unread: bool
    # A finished bulk job (kind "bulk_done"): which job, of which kind, and its counts.
    job_id: int | None = None
    job_kind: str | None = None
    succeeded: int | None = None
    failed: int | None = None
    total: int | None = None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _notifiable() -> ColumnElement[bool]:
    # Event data is written with json.dumps' default separators (storage.events.record_event).
    return or_(
        and_(Event.type == "account_paused", not_(Event.data.like('%"reason": "manual"%'))),
        and_(
            Event.type == "account_tested",
            Event.data.like('%"ok": false%'),
            # A test within a bulk Probar: that run's one summary is the notification.
            not_(Event.data.like('%"bulk": true%')),
        ),
        Event.type == bulk_jobs.EVENT,
    )


def _view(event: Event, email: str | None, cursor: int) -> NotificationView:
    try:
        data: Any = json.loads(event.data or "{}")
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    if event.type == bulk_jobs.EVENT:
        kind = str(data.get("kind") or "")[:32]
        return NotificationView(
            id=event.id,
            kind="bulk_done",
            account_id=None,
            account_email=None,
            reason=None,
            until=None,
            created_at=aware(event.created_at) or event.created_at,
            unread=event.id > cursor,
            job_id=_count(data.get("job_id")),
            job_kind=kind or None,
            succeeded=_count(data.get("succeeded")),
            failed=_count(data.get("failed")),
            total=_count(data.get("total")),
        )
    if event.type == "account_tested":
        kind, reason, until = "account_error", data.get("code"), None
    else:
        reason, until = data.get("reason"), data.get("until")
        # Data of an unexpected shape (another writer) is shown, never trusted to be hashable.
        kind = "reconnect" if isinstance(reason, str) and reason in pauses.UNTIL_FIXED else "paused"
    return NotificationView(
        id=event.id,
        kind=kind,
        account_id=event.account_id,
        account_email=email,
        reason=str(reason)[:64] if reason else None,
        until=str(until)[:40] if until else None,
        created_at=aware(event.created_at) or event.created_at,
        unread=event.id > cursor,
    )


def _cursor(session: Session, *, user_id: int, workspace_id: int) -> int:
    row = session.get(NotificationRead, (user_id, workspace_id))
    return row.last_read_id if row else 0


def list_notifications(
    ctx: AppContext,
    *,
    workspace_id: int,
    user_id: int,
    page: int | None = 1,
    per_page: int | None = None,
) -> Page[NotificationView]:
    number, size = clamp(page, per_page)
    statement = (
        select(Event, Account.email)
        .outerjoin(Account, Account.id == Event.account_id)
        .where(Event.workspace_id == workspace_id, _notifiable())
    )
    with ctx.sessions() as session:
        cursor = _cursor(session, user_id=user_id, workspace_id=workspace_id)
        total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        rows = session.execute(
            statement.order_by(Event.id.desc()).offset((number - 1) * size).limit(size)
        ).all()
        items = [_view(event, email, cursor) for event, email in rows]
    return Page[NotificationView](items=items, page=number, per_page=size, total=total)


def unread_count(ctx: AppContext, *, workspace_id: int, user_id: int) -> int:
    """Unread notifications, counted up to ``MAX_UNREAD + 1`` (a bounded query on every page)."""
    with ctx.sessions() as session:
        cursor = _cursor(session, user_id=user_id, workspace_id=workspace_id)
        ids = (
            select(Event.id)
            .where(Event.workspace_id == workspace_id, Event.id > cursor, _notifiable())
            .limit(MAX_UNREAD + 1)
        )
        return session.scalar(select(func.count()).select_from(ids.subquery())) or 0


def mark_all_read(ctx: AppContext, *, workspace_id: int, user_id: int) -> int:
    """Move the user's cursor to the newest notification; returns the new cursor."""
    with transaction(ctx.sessions) as session:
        newest = session.scalar(
            select(func.max(Event.id)).where(Event.workspace_id == workspace_id, _notifiable())
        )
        row = session.get(NotificationRead, (user_id, workspace_id), with_for_update=True)
        if row is None:
            row = NotificationRead(user_id=user_id, workspace_id=workspace_id, last_read_id=0)
            session.add(row)
        row.last_read_id = max(row.last_read_id, newest or 0)
        row.updated_at = ctx.clock.now()
        return row.last_read_id


class EmailSettings(BaseModel):
    email_account_id: int | None
    account_email: str | None


def _is_owner(session: Session, *, user_id: int, workspace_id: int) -> bool:
    role = session.scalar(
        select(Membership.role).where(
            Membership.user_id == user_id, Membership.workspace_id == workspace_id
        )
    )
    return role == "owner"


def get_email_settings(ctx: AppContext, *, workspace_id: int) -> EmailSettings:
    with ctx.sessions() as session:
        row = session.get(NotificationSettings, workspace_id)
        chosen = row.email_account_id if row else None
        account = session.get(Account, chosen) if chosen else None
        return EmailSettings(
            email_account_id=account.id if account else None,
            account_email=account.email if account else None,
        )


def set_email_account(
    ctx: AppContext, *, workspace_id: int, user_id: int, account_id: int | None
) -> EmailSettings:
    """Owners only. ``None`` turns email off; earlier notifications are never mailed."""
    with transaction(ctx.sessions) as session:
        if not _is_owner(session, user_id=user_id, workspace_id=workspace_id):
            raise NotAllowedError()
        account = session.get(Account, account_id) if account_id is not None else None
        if account_id is not None and (account is None or account.workspace_id != workspace_id):
            raise ValidationError(
                ErrorCode.NOTIFY_ACCOUNT_INVALID, params={"field": "account_id", "id": account_id}
            )
        row = session.get(NotificationSettings, workspace_id, with_for_update=True)
        if row is None:
            row = NotificationSettings(workspace_id=workspace_id, emailed_up_to=0)
            session.add(row)
        newest = session.scalar(
            select(func.max(Event.id)).where(Event.workspace_id == workspace_id)
        )
        if row.email_account_id is None:
            row.emailed_up_to = max(row.emailed_up_to, newest or 0)
        row.email_account_id = account.id if account else None
        row.updated_at = ctx.clock.now()
        return EmailSettings(
            email_account_id=account.id if account else None,
            account_email=account.email if account else None,
        )


def _owners(session: Session, workspace_id: int) -> list[str]:
    rows = session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id, Membership.role == "owner")
        .order_by(User.id)
        .limit(20)
    )
    return list(rows)


def bulk_title(view: NotificationView, lang: str | None = None) -> str:
    """The bell's title: «Prueba masiva terminada: 287 correctas, 13 con errores»."""
    key = f"notify.bulk_done.{view.job_kind}"
    chosen = key if has_message(key, normalise_language(lang) or "en") else "notify.bulk_done"
    return translate(
        chosen, lang, ok=view.succeeded or 0, failed=view.failed or 0, total=view.total or 0
    )


def _message(view: NotificationView, lang: str) -> tuple[str, str]:
    if view.kind == "bulk_done":
        title = bulk_title(view, lang)
        return f"[FluenzR] {title}", f"{title}\n\n{translate('notify.email.footer', lang)}\n"
    title = translate(f"notify.{view.kind}", lang, email=view.account_email or "—")
    lines = [title]
    if view.reason:
        lines.append(translate("notify.email.reason", lang, code=view.reason))
    if view.until:
        lines.append(translate("notify.email.until", lang, until=view.until))
    lines.append(translate("notify.email.footer", lang))
    return f"[FluenzR] {title}", "\n\n".join(lines) + "\n"


def _mail_workspace(ctx: AppContext, settings_row: NotificationSettings) -> int:
    """Queue the notifications after the cursor for one workspace; how many were queued."""
    lang = ctx.settings.lang
    with transaction(ctx.sessions) as session:
        start = settings_row.emailed_up_to
        rows = session.execute(
            select(Event, Account.email)
            .outerjoin(Account, Account.id == Event.account_id)
            .where(Event.workspace_id == settings_row.workspace_id, Event.id > start, _notifiable())
            .order_by(Event.id)
            .limit(EMAIL_BATCH)
        ).all()
        if not rows:
            return 0
        last = rows[-1][0].id
        moved = session.execute(
            update(NotificationSettings)
            .where(
                NotificationSettings.workspace_id == settings_row.workspace_id,
                NotificationSettings.emailed_up_to == start,
            )
            .values(emailed_up_to=last)
        )
        if getattr(moved, "rowcount", 0) != 1:
            return 0  # another worker took this batch
        owners = _owners(session, settings_row.workspace_id)
        blocked = suppression.suppressed(
            session, workspace_id=settings_row.workspace_id, emails=owners
        )
        to = [o for o in owners if o.lower() not in blocked]
        if not to or settings_row.email_account_id is None:
            return 0
        requests = []
        for event, email in rows:
            subject, text = _message(_view(event, email, 0), lang)
            requests.append(
                outbox.SendRequest(
                    account_id=settings_row.email_account_id, to=to, subject=subject, text=text
                )
            )
        outbox.enqueue_in(
            session,
            workspace_id=settings_row.workspace_id,
            requests=requests,
            now=ctx.clock.now(),
        )
        return len(requests)


def deliver_emails(ctx: AppContext) -> int:
    """One pass over every workspace that asked for email; a failing one does not stop others."""
    with ctx.sessions() as session:
        rows = list(
            session.scalars(
                select(NotificationSettings).where(
                    NotificationSettings.email_account_id.is_not(None)
                )
            )
        )
        session.expunge_all()
    queued = 0
    for row in rows:
        try:
            queued += _mail_workspace(ctx, row)
        except FluenzrError as error:  # e.g. an owner's address the validator refuses
            log.warning("notification email for workspace %s: %s", row.workspace_id, error.code)
    return queued


async def run_notifier(ctx: AppContext, *, stop: asyncio.Event, until_idle: bool = False) -> None:
    """The sending system's loop that queues notification emails."""
    while not stop.is_set():
        queued = await asyncio.to_thread(deliver_emails, ctx)
        if until_idle and not queued:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)


__all__ = [
    "KINDS",
    "EmailSettings",
    "NotificationView",
    "bulk_title",
    "deliver_emails",
    "get_email_settings",
    "list_notifications",
    "mark_all_read",
    "run_notifier",
    "set_email_account",
    "unread_count",
]
