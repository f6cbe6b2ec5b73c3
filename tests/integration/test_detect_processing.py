"""Classification → matching → consequences against the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import email.utils
from datetime import timedelta

import pytest
from sqlalchemy import select

from fluenzr.core.secret import Secret
from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.processing import relevant_uids
from fluenzr.services.account_config import AccountInput
from fluenzr.services.accounts import create_account
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.services.outbox import SendRequest, enqueue
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.detection import IncomingMessage, RecipientState, Suppression
from fluenzr.storage.models.outbox import CANCELLED, QUEUED, SENT, OutboxMessage
from tests.support.detection import process_raw

CONFIG = DetectionConfig(bounce_rate_min_sends=3)


@pytest.fixture(autouse=True)
def _test_domains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Accounts on the reserved ``.test`` domain (the accounts service refuses it otherwise)."""
    import email_validator

    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)


def _account(ctx: AppContext) -> int:
    view = create_account(
        ctx,
        workspace_id=default_workspace_id(ctx.sessions),
        data=AccountInput(
            email="ana@fluenzr.test",
            smtp_host="127.0.0.1",
            smtp_port=10587,
            smtp_security="starttls",
            password=Secret("pw"),
            imap_host="127.0.0.1",
            imap_port=10993,
            imap_security="ssl",
        ),
    )
    return view.id


def _send(ctx: AppContext, account_id: int, to: str, *, stop: bool = False, sent: bool = True):
    view = enqueue(
        ctx,
        workspace_id=default_workspace_id(ctx.sessions),
        request=SendRequest(
            account_id=account_id, to=[to], subject="Quick question", text="Hi", stop_on_reply=stop
        ),
    )
    if sent:
        with transaction(ctx.sessions) as session:
            row = session.get(OutboxMessage, view.id)
            assert row is not None
            row.status = SENT
            row.sent_at = ctx.clock.now() - timedelta(minutes=5)
    return view


def _reply(to_msgid: str, *, sender: str, body: str = "Yes, let's talk.", extra: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: ana@fluenzr.test\r\nSubject: Re: Quick question\r\n"
        f"Message-ID: {email.utils.make_msgid()}\r\nIn-Reply-To: <{to_msgid}>\r\n{extra}"
        f"Date: {email.utils.formatdate()}\r\n\r\n{body}\r\n\r\n"
        f"On Mon, Ana wrote:\r\n> Hi\r\n"
    ).encode()


def _process(ctx: AppContext, account_id: int, raw: bytes, uid: int):
    return process_raw(ctx, account_id, raw, uid=uid, config=CONFIG)


def test_reply_is_linked_and_cancels_stop_on_reply(app_any_db: AppContext) -> None:
    ctx = app_any_db
    account_id = _account(ctx)
    first = _send(ctx, account_id, "bob@example.com")
    follow_up = _send(ctx, account_id, "bob@example.com", stop=True, sent=False)
    unrelated = _send(ctx, account_id, "carol@example.com", stop=True, sent=False)
    done = _process(ctx, account_id, _reply(first.message_id, sender="Bob <Bob@Example.com>"), 7)
    assert done is not None
    assert (done.kind, done.outbox_id, done.match_rule) == ("reply", first.id, "in_reply_to")
    with ctx.sessions() as session:
        event = session.scalars(select(Event).where(Event.type == "reply")).one()
        assert (event.message_id, event.recipient, event.account_id) == (
            first.id,
            "bob@example.com",
            account_id,
        )
        assert "let's talk" in event.data
        assert session.get(OutboxMessage, follow_up.id).status == CANCELLED  # type: ignore[union-attr]
        assert session.get(OutboxMessage, unrelated.id).status == QUEUED  # type: ignore[union-attr]
        state = session.scalars(select(RecipientState)).one()
        assert state.replied_at is not None
    # The same message again (another UID after a resync): processed once only.
    assert _process(ctx, account_id, _reply(first.message_id, sender="bob@example.com"), 8)
    with ctx.sessions() as session:
        assert len(session.scalars(select(IncomingMessage)).all()) == 2


def test_same_message_id_is_processed_once(app: AppContext) -> None:
    account_id = _account(app)
    first = _send(app, account_id, "bob@example.com")
    raw = _reply(first.message_id, sender="bob@example.com")
    assert _process(app, account_id, raw, 1) is not None
    assert _process(app, account_id, raw, 2) is None


def test_auto_reply_never_counts_as_reply(app: AppContext) -> None:
    account_id = _account(app)
    first = _send(app, account_id, "bob@example.com")
    follow_up = _send(app, account_id, "bob@example.com", stop=True, sent=False)
    raw = _reply(
        first.message_id,
        sender="bob@example.com",
        body="I am out of the office until 2027-01-05.",
        extra="Auto-Submitted: auto-replied\r\n",
    )
    done = _process(app, account_id, raw, 1)
    assert done is not None
    assert done.kind == "auto_reply"
    with app.sessions() as session:
        assert session.get(OutboxMessage, follow_up.id).status == QUEUED  # type: ignore[union-attr]
        assert [e.type for e in session.scalars(select(Event))] == ["auto_reply"]
        assert '"return_date": "2027-01-05"' in session.scalars(select(Event)).one().data


def test_unsubscribe_reply_suppresses(app: AppContext) -> None:
    account_id = _account(app)
    first = _send(app, account_id, "bob@example.com")
    raw = _reply(first.message_id, sender="bob@example.com", body="Please remove me from your list")
    assert _process(app, account_id, raw, 1) is not None
    with app.sessions() as session:
        assert session.scalars(select(Suppression.reason)).all() == ["unsubscribe"]
        types = sorted(e.type for e in session.scalars(select(Event)))
        assert types == ["reply", "unsubscribe"]


def _bounce(failed: str, original: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        "To: ana@fluenzr.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {email.utils.make_msgid()}\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nI'm sorry.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{original}>\r\nSubject: Quick question\r\n\r\n--b--\r\n"
    ).encode()


def test_permanent_bounce_suppresses_and_pauses_over_threshold(app: AppContext) -> None:
    account_id = _account(app)
    sent = [_send(app, account_id, f"p{i}@example.com") for i in range(3)]
    done = _process(app, account_id, _bounce("p0@example.com", sent[0].message_id), 1)
    assert done is not None
    assert (done.kind, done.match_rule) == ("bounce", "bounce_original")
    with app.sessions() as session:
        assert session.scalars(select(Suppression.email)).all() == ["p0@example.com"]
        account = session.get(Account, account_id)
        assert account is not None
        assert (account.status, account.status_reason) == ("paused", "bounce_rate")
        assert sorted(e.type for e in session.scalars(select(Event))) == [
            "account_paused",
            "bounce",
        ]
    # The sending engine now refuses the address.
    with pytest.raises(Exception, match="suppress"):
        _send(app, account_id, "p0@example.com", sent=False)


def test_unrelated_mail_is_ignored(app: AppContext) -> None:
    account_id = _account(app)
    _send(app, account_id, "bob@example.com")
    raw = _reply("someone-else@example.org", sender="eve@example.org")
    assert _process(app, account_id, raw, 1) is None


def test_subject_sender_fallback_and_triage(app: AppContext) -> None:
    account_id = _account(app)
    first = _send(app, account_id, "bob@example.com")
    raw = (
        b"From: bob@example.com\r\nSubject: RE: Quick question\r\n"
        b"Message-ID: <x1@example.com>\r\n\r\nSure.\r\n"
    )
    noise = b"From: news@example.net\r\nSubject: Deals\r\nList-Id: <l.example.net>\r\n\r\n"
    with app.sessions() as session:
        uids = relevant_uids(
            session,
            [(1, raw), (2, noise)],
            workspace_id=default_workspace_id(app.sessions),
            account_id=account_id,
            now=app.clock.now(),
            config=CONFIG,
        )
    assert uids == [1]
    done = _process(app, account_id, raw, 1)
    assert done is not None
    assert (done.outbox_id, done.match_rule) == (first.id, "subject_sender")
