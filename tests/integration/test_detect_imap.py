"""End to end on the shared Postfix + Dovecot: send, reply/bounce, the watcher turns them into
events linked to what we sent — without touching any flag — exactly once across restarts."""

from __future__ import annotations

import asyncio
import email.utils
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import aiosmtplib
import pytest
from sqlalchemy import select

from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.watcher import run_detection
from fluenzr.services.accounts import create_account
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.services.outbox import OutboxView, SendRequest, enqueue
from fluenzr.services.runtime import credentials_opener
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Event
from fluenzr.storage.models.detection import ImapSyncState, IncomingMessage, Suppression
from fluenzr.storage.models.outbox import CANCELLED, SENT, OutboxMessage
from tests.support.mailservers import (
    CA_FILE,
    HOST,
    MAIL_DIR,
    SUBMISSION_PORT,
    MailUser,
    create_user,
    deliver,
    list_messages,
)

pytestmark = [pytest.mark.mailserver]
FAST = DetectionConfig(poll_interval=0.2, backoff_min=0.2, backoff_max=1.0)


@pytest.fixture(autouse=True)
def _test_domains(mailserver: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import email_validator

    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)


def _account(ctx: AppContext, user: MailUser) -> int:
    return create_account(
        ctx,
        workspace_id=default_workspace_id(ctx.sessions),
        data=user.account_input(),
    ).id


def _inject(mime: bytes, *, sender: str, to: str) -> None:
    """Hand a message to Postfix's pickup (as the local sendmail does): it is accepted first, so
    mail to other domains produces a real Postfix DSN in the sender's INBOX (submission would
    refuse it at RCPT instead)."""
    config_dir = str(MAIL_DIR / "postfix")
    command = ["/usr/sbin/sendmail", "-C", config_dir, "-f", sender, "-i", to]
    subprocess.run(command, input=mime, check=True, capture_output=True, timeout=10)


async def _send(
    ctx: AppContext,
    sender: MailUser,
    account_id: int,
    to: str,
    *,
    stop: bool = False,
    local: bool = True,
) -> OutboxView:
    """Enqueue through the outbox service, then submit its exact bytes through Postfix."""
    view = enqueue(
        ctx,
        workspace_id=default_workspace_id(ctx.sessions),
        request=SendRequest(
            account_id=account_id, to=[to], subject="Quick question", text="Hi!", stop_on_reply=stop
        ),
    )
    with transaction(ctx.sessions) as session:
        row = session.get(OutboxMessage, view.id)
        assert row is not None
        mime = row.mime
    if not local:
        await asyncio.to_thread(_inject, mime, sender=sender.email, to=to)
    else:
        await aiosmtplib.send(
            mime,
            sender=sender.email,
            recipients=[to],
            hostname=HOST,
            port=SUBMISSION_PORT,
            start_tls=True,
            username=sender.email,
            password=sender.password,
            tls_context=__import__("ssl").create_default_context(cafile=CA_FILE),
            timeout=10,
        )
    with transaction(ctx.sessions) as session:
        row = session.get(OutboxMessage, view.id)
        assert row is not None
        row.status = SENT
        row.sent_at = ctx.clock.now()
    return view


def _reply(original: OutboxView, *, sender: MailUser, to: MailUser, body: str) -> bytes:
    return (
        f"From: {sender.email}\r\nTo: {to.email}\r\nSubject: Re: Quick question\r\n"
        f"Message-ID: {email.utils.make_msgid(domain='fluenzr.test')}\r\n"
        f"In-Reply-To: <{original.message_id}>\r\nReferences: <{original.message_id}>\r\n"
        f"Date: {email.utils.formatdate()}\r\n\r\n{body}\r\n\r\n"
        f"On Mon, {to.email} wrote:\r\n> Hi!\r\n"
    ).encode()


async def _events(ctx: AppContext, kind: str, count: int, *, seconds: float = 15) -> list[Event]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        with ctx.sessions() as session:
            found = list(session.scalars(select(Event).where(Event.type == kind)))
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


@asynccontextmanager
async def _worker(ctx: AppContext) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_detection(ctx, open_credentials=credentials_opener(ctx), stop=stop, config=FAST)
    )
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def test_reply_becomes_event_within_seconds_and_stays_unseen(app: AppContext) -> None:
    alice, bob = create_user("det-a"), create_user("det-b")
    account_id = _account(app, alice)
    first = await _send(app, alice, account_id, bob.email)
    follow_up = enqueue(
        app,
        workspace_id=default_workspace_id(app.sessions),
        request=SendRequest(
            account_id=account_id,
            to=[bob.email],
            subject="Following up",
            text="?",
            stop_on_reply=True,
            not_before=None,
        ),
    )
    async with _worker(app):
        await asyncio.sleep(1.0)  # the watcher is idle in IDLE now
        await deliver(
            alice.email, _reply(first, sender=bob, to=alice, body="Yes, call me."), sender=bob.email
        )
        # "Within seconds": the event has to appear while _events waits (15 s at most).
        events = await _events(app, "reply", 1)
    assert len(events) == 1, "no reply event within 15 s"
    event = events[0]
    assert (event.message_id, event.recipient, event.account_id) == (
        first.id,
        bob.email,
        account_id,
    )
    assert "call me" in event.data
    with app.sessions() as session:
        assert session.get(OutboxMessage, follow_up.id).status == CANCELLED  # type: ignore[union-attr]
    inbox = list_messages(alice)
    assert inbox, "the reply is still in the INBOX"
    assert all("\\Seen" not in m.flags for m in inbox)


async def test_postfix_bounce_suppresses_the_address(app: AppContext) -> None:
    alice = create_user("det-bounce")
    account_id = _account(app, alice)
    sent = await _send(app, alice, account_id, "nobody@elsewhere.example", local=False)
    async with _worker(app):
        bounces = await _events(app, "bounce", 1)
    assert len(bounces) == 1
    assert bounces[0].message_id == sent.id
    assert bounces[0].recipient == "nobody@elsewhere.example"
    with app.sessions() as session:
        assert session.scalars(select(Suppression.email)).all() == ["nobody@elsewhere.example"]
        incoming = session.scalars(select(IncomingMessage)).one()
        assert incoming.match_rule in {"bounce_original", "in_reply_to", "references"}
        assert incoming.permanent is True


async def test_restart_processes_each_message_exactly_once(app: AppContext) -> None:
    alice, bob = create_user("det-r"), create_user("det-rb")
    account_id = _account(app, alice)
    sent = [await _send(app, alice, account_id, bob.email) for _ in range(3)]
    async with _worker(app):
        await deliver(
            alice.email, _reply(sent[0], sender=bob, to=alice, body="one"), sender=bob.email
        )
        assert len(await _events(app, "reply", 1)) == 1
    # Worker down: mail keeps arriving.
    for number, original in enumerate(sent[1:], start=2):
        await deliver(
            alice.email, _reply(original, sender=bob, to=alice, body=f"n{number}"), sender=bob.email
        )
    await asyncio.sleep(0.5)
    await run_detection(app, open_credentials=credentials_opener(app), until_idle=True, config=FAST)
    await run_detection(
        app, open_credentials=credentials_opener(app), until_idle=True, config=FAST
    )  # nothing new: no duplicates
    replies = await _events(app, "reply", 3, seconds=1)
    assert sorted(e.message_id for e in replies) == sorted(s.id for s in sent)
    # UIDVALIDITY change (mailbox rebuilt): a safe resync, still no duplicates.
    with transaction(app.sessions) as session:
        state = session.get(ImapSyncState, (account_id, "INBOX"))
        assert state is not None
        state.uidvalidity = 1
        state.last_sync_at = app.clock.now() - timedelta(hours=1)
    await run_detection(app, open_credentials=credentials_opener(app), until_idle=True, config=FAST)
    with app.sessions() as session:
        assert len(session.scalars(select(Event).where(Event.type == "reply")).all()) == 3
        state = session.get(ImapSyncState, (account_id, "INBOX"))
        assert state is not None
        assert state.resyncs == 1
        assert state.uidvalidity != 1
    assert all("\\Seen" not in m.flags for m in list_messages(alice))


async def test_wrong_password_is_recorded_not_fatal(app: AppContext) -> None:
    alice = create_user("det-pw")
    account_id = _account(app, MailUser(alice.email, "not-the-password"))
    await run_detection(app, open_credentials=credentials_opener(app), until_idle=True, config=FAST)
    with app.sessions() as session:
        state = session.get(ImapSyncState, (account_id, "INBOX"))
        assert state is not None
        assert state.last_error is not None
        assert '"code": "auth_failed"' in state.last_error
        assert '"scope": "imap"' in state.last_error
        assert "not-the-password" not in state.last_error


async def test_polling_when_the_server_has_no_idle(app: AppContext) -> None:
    """Servers without IDLE are polled every ``poll_interval``."""
    from fluenzr.detection.imap_adapter import ImapMailbox, connect_account

    class NoIdle(ImapMailbox):
        @property
        def can_idle(self) -> bool:
            return False

    async def connect(account_id: int) -> NoIdle:
        mailbox = await connect_account(credentials_opener(app), account_id=account_id, config=FAST)
        return NoIdle(mailbox.session)

    alice, bob = create_user("det-poll"), create_user("det-pollb")
    account_id = _account(app, alice)
    first = await _send(app, alice, account_id, bob.email)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_detection(
            app, open_credentials=credentials_opener(app), stop=stop, config=FAST, connect=connect
        )
    )
    try:
        await asyncio.sleep(0.5)
        await deliver(
            alice.email, _reply(first, sender=bob, to=alice, body="polled"), sender=bob.email
        )
        events = await _events(app, "reply", 1, seconds=10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    assert [e.message_id for e in events] == [first.id]
