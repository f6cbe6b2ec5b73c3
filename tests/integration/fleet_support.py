"""Helpers for the detection fleet tests: accounts on the shared Dovecot with a sent message
each, in-process workers (heartbeat + detection under one id), lease and session counts."""

from __future__ import annotations

import asyncio
import email.utils
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import select

from fluenzr.detection.config import from_settings
from fluenzr.detection.watcher import run_detection
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.services.runtime import credentials_opener
from fluenzr.services.worker_health import keep_heartbeat
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.detection import ImapSyncState
from fluenzr.storage.models.fleet import MailboxLease
from fluenzr.storage.models.outbox import SENT, OutboxMessage, OutboxRecipient
from tests.integration.send_support import add_account
from tests.support.mailservers import (
    CA_FILE,
    IMAPS_PORT,
    MAIL_DIR,
    SUBMISSION_PORT,
    MailUser,
    create_users,
)

LEASE_TTL = 1.0  # seconds: takeovers within a test's budget


def fleet(app: AppContext, prefix: str, count: int) -> dict[int, tuple[MailUser, str]]:
    """``count`` accounts on the shared Dovecot, each with one sent message: id -> (user, msgid)."""
    out: dict[int, tuple[MailUser, str]] = {}
    for user in create_users(prefix, count):
        account_id = add_account(
            app,
            email=user.email,
            password=user.password,
            port=SUBMISSION_PORT,
            security="starttls",
            imap_port=IMAPS_PORT,
            ca_file=CA_FILE,
        )
        out[account_id] = (user, _sent(app, account_id, user.email))
    return out


def _sent(app: AppContext, account_id: int, sender: str) -> str:
    msgid = f"fleet.{uuid.uuid4().hex}@fluenzr.test"
    an_hour_ago = app.clock.now() - timedelta(hours=1)
    with transaction(app.sessions) as session:
        row = OutboxMessage(
            workspace_id=default_workspace_id(app.sessions),
            account_id=account_id,
            message_id=msgid,
            envelope_from=sender,
            subject="Idea for your team",
            mime=b"",
            status=SENT,
            attempts=1,
            stop_on_reply=False,
            sent_copy="none",
            copy_attempts=0,
            sent_at=an_hour_ago,
            created_at=an_hour_ago,
        )
        session.add(row)
        session.flush()
        session.add(
            OutboxRecipient(outbox_id=row.id, email="prospect@example.com", kind="to", status=SENT)
        )
    return msgid


def reply(owner: MailUser, ref: str) -> bytes:
    return (
        f"From: prospect@example.com\r\nTo: {owner.email}\r\nSubject: Re: Idea for your team\r\n"
        f"Message-ID: {email.utils.make_msgid(domain='example.com')}\r\n"
        f"In-Reply-To: <{ref}>\r\nDate: {email.utils.formatdate()}\r\n\r\nYes, call me.\r\n"
    ).encode()


@asynccontextmanager
async def in_process_worker(app: AppContext, worker_id: str) -> AsyncIterator[None]:
    """A detection worker in this event loop: its heartbeat row and its share of mailboxes."""
    stop = asyncio.Event()
    config = from_settings(app.settings, backoff_min=0.2, backoff_max=1.0)
    tasks = [
        asyncio.create_task(keep_heartbeat(app, worker_id=worker_id, roles=["detect"], stop=stop)),
        asyncio.create_task(
            run_detection(
                app,
                open_credentials=credentials_opener(app),
                stop=stop,
                config=config,
                owner=worker_id,
            )
        ),
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 20)


def owners(app: AppContext) -> dict[int, str]:
    """Live leases: account id -> owner."""
    now = app.clock.now()
    with app.sessions() as session:
        rows = session.execute(
            select(MailboxLease.account_id, MailboxLease.owner).where(
                MailboxLease.owner.is_not(None), MailboxLease.expires_at > now
            )
        )
        return {account_id: str(owner) for account_id, owner in rows}


def watched(app: AppContext, accounts: Collection[int]) -> set[int]:
    """Accounts whose INBOX a watcher has synced at least once."""
    with app.sessions() as session:
        return set(
            session.scalars(
                select(ImapSyncState.account_id).where(
                    ImapSyncState.account_id.in_(list(accounts)),
                    ImapSyncState.last_sync_at.is_not(None),
                )
            )
        )


def reply_events(app: AppContext) -> Counter[int]:
    """Reply events per account."""
    with app.sessions() as session:
        rows = session.execute(
            select(Account.id)
            .join(Event, Event.account_id == Account.id)
            .where(Event.type == "reply")
        )
        return Counter(account_id for (account_id,) in rows)


def imap_sessions(users: list[MailUser]) -> Counter[str]:
    """IMAP connections Dovecot has open right now, per user (``doveadm who``)."""
    wanted = {u.email for u in users}
    config = str(MAIL_DIR / "dovecot" / "dovecot.conf")
    out = subprocess.run(
        ["doveadm", "-c", config, "who", "-1"], capture_output=True, text=True, timeout=20
    ).stdout
    found: Counter[str] = Counter()
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0] in wanted and parts[1] == "imap":
            found[parts[0]] += 1
    return found


async def until(condition: Callable[[], bool], *, seconds: float = 20.0) -> None:
    """Wait for ``condition`` (polled); fail with a clear message after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {seconds} s")
        await asyncio.sleep(0.05)
