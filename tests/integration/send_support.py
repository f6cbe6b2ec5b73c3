"""Helpers for the sending suites: accounts on the test Postfix/Dovecot, enqueue, run the worker."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from fluenzr.core.clock import Clock
from fluenzr.core.secret import Secret
from fluenzr.sending.worker import WorkerOptions
from fluenzr.services import outbox
from fluenzr.services.account_config import AccountInput
from fluenzr.services.accounts import create_account
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.services.runtime import sending_worker
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.outbox import OutboxMessage
from tests.support.mailservers import ca_pem

NO_LIMITS: dict[str, Any] = {
    "daily_limit": 100_000,
    "hourly_limit": 100_000,
    "min_interval": 0,
    "max_interval": 0,
}


class FakeClock(Clock):
    """A clock tests move by hand (pauses, backoff, caps across days)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def add_account(
    ctx: AppContext,
    *,
    email: str,
    password: str,
    host: str = "127.0.0.1",
    port: int,
    security: str,
    imap_port: int | None = None,
    imap_security: str = "ssl",
    ca_file: str | None = None,
    **settings: Any,
) -> int:
    """An account through the accounts service; the address is set afterwards because the
    service's address check refuses the reserved ``.test`` domain of the test servers."""
    workspace_id = default_workspace_id(ctx.sessions)
    # The CA goes through the service like the password: set on the row afterwards, it would
    # change the endpoint the password is bound to.
    smtp_ca = settings.pop("smtp_ca_pem", ca_pem(ca_file))
    imap_ca = settings.pop("imap_ca_pem", ca_pem(ca_file))
    data = AccountInput(
        email=f"placeholder-{uuid.uuid4().hex[:8]}@example.com",
        display_name="Ana Tester",
        smtp_host=host,
        smtp_port=port,
        smtp_security=security,
        username=email,
        password=Secret(password),
        imap_host=host if imap_port else None,
        imap_port=imap_port,
        imap_security=imap_security if imap_port else None,
        imap_username=email if imap_port else None,
        smtp_ca_pem=smtp_ca,
        imap_ca_pem=imap_ca if imap_port else None,
        force=True,
        **{k: v for k, v in {**NO_LIMITS, **settings}.items() if k in _INPUT_FIELDS},
    )
    view = create_account(ctx, workspace_id=workspace_id, data=data)
    with transaction(ctx.sessions) as session:
        account = session.get(Account, view.id)
        assert account is not None
        account.email = email
        for key, value in settings.items():
            if key not in _INPUT_FIELDS:
                setattr(account, key, value)
    return view.id


_INPUT_FIELDS = {
    "daily_limit",
    "hourly_limit",
    "min_interval",
    "max_interval",
    "timezone",
    "smtp_auth",
}


def enqueue(ctx: AppContext, account_id: int, to: str, **fields: Any) -> outbox.OutboxView:
    request = outbox.SendRequest(
        account_id=account_id,
        to=[to],
        subject=fields.pop("subject", "Hola"),
        text=fields.pop("text", "Hola,\n¿hablamos mañana?\n"),
    )
    request = replace(request, **fields)
    return outbox.enqueue(ctx, workspace_id=default_workspace_id(ctx.sessions), request=request)


def run_until_idle(ctx: AppContext, *, timeout: float = 60, **options: Any) -> None:
    worker = sending_worker(ctx, WorkerOptions(poll=0.05, **options))
    asyncio.run(asyncio.wait_for(worker.run(until_idle=True), timeout))


def statuses(ctx: AppContext) -> dict[str, int]:
    with ctx.sessions() as session:
        rows = session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: count for status, count in rows}


def message(ctx: AppContext, outbox_id: int) -> OutboxMessage:
    with ctx.sessions() as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        return row


async def run_worker_async(home: Any, db_url: str) -> None:
    """The worker in this event loop (for tests whose SMTP server runs in it too)."""
    from fluenzr.config import load_settings
    from fluenzr.services.context import open_app

    ctx = open_app(load_settings(home=home, database_url=db_url))
    try:
        await sending_worker(ctx, WorkerOptions(poll=0.02)).run(until_idle=True)
    finally:
        ctx.close()
