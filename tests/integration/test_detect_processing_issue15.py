"""Issue 15 against the real database (SQLite and PostgreSQL): out-of-office holds, unmatched
auto-replies, Thread-Index and incoming-reference matching, the intent filter."""

from __future__ import annotations

import base64
import email.utils
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.consequences import bounce_rate
from fluenzr.services import events_query
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.storage.models import Event
from fluenzr.storage.models.detection import IncomingMessage, RecipientState
from fluenzr.storage.models.outbox import OutboxMessage
from tests.integration.test_detect_processing import _account, _reply, _send
from tests.support.detection import process_raw

HOLD = DetectionConfig(away_defers_followups=True)


@pytest.fixture(autouse=True)
def _test_domains(monkeypatch: pytest.MonkeyPatch) -> None:
    import email_validator

    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)


def _process(ctx: AppContext, account_id: int, raw: bytes, uid: int, config: DetectionConfig):
    return process_raw(ctx, account_id, raw, uid=uid, config=config)


def _out_of_office(sender: str, *, back: date, in_reply_to: str | None) -> bytes:
    irt = f"In-Reply-To: <{in_reply_to}>\r\n" if in_reply_to else ""
    return (
        f"From: {sender}\r\nTo: ana@fluenzr.test\r\nSubject: Automatic reply: Quick question\r\n"
        f"Message-ID: {email.utils.make_msgid()}\r\n{irt}Auto-Submitted: auto-replied\r\n"
        f"Date: {email.utils.formatdate()}\r\n\r\n"
        f"I am out of the office until {back.isoformat()}.\r\n"
    ).encode()


def test_out_of_office_holds_stop_on_reply_follow_ups(app_any_db: AppContext) -> None:
    ctx = app_any_db
    account_id = _account(ctx)
    first = _send(ctx, account_id, "bob@example.com")
    follow_up = _send(ctx, account_id, "bob@example.com", stop=True, sent=False)
    other = _send(ctx, account_id, "bob@example.com", sent=False)  # not stop_on_reply
    back = (ctx.clock.now() + timedelta(days=10)).date()
    raw = _out_of_office("bob@example.com", back=back, in_reply_to=first.message_id)
    done = _process(ctx, account_id, raw, 1, HOLD)
    assert done is not None and done.kind == "auto_reply"
    resume = datetime.combine(back + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    with ctx.sessions() as session:
        held = session.get(OutboxMessage, follow_up.id)
        assert held is not None and held.next_attempt_at is not None
        assert held.next_attempt_at.replace(tzinfo=UTC) == resume
        untouched = session.get(OutboxMessage, other.id)
        assert untouched is not None and untouched.next_attempt_at is None
        event = session.scalars(select(Event).where(Event.type == "auto_reply")).one()
        assert f'"held": [{follow_up.id}]' in event.data


def test_out_of_office_holds_nothing_by_default(app: AppContext) -> None:
    account_id = _account(app)
    first = _send(app, account_id, "bob@example.com")
    follow_up = _send(app, account_id, "bob@example.com", stop=True, sent=False)
    back = (app.clock.now() + timedelta(days=10)).date()
    _process(
        app,
        account_id,
        _out_of_office("bob@example.com", back=back, in_reply_to=first.message_id),
        1,
        DetectionConfig(),
    )
    with app.sessions() as session:
        row = session.get(OutboxMessage, follow_up.id)
        assert row is not None and row.next_attempt_at is None


def test_unmatched_auto_reply_is_recorded_without_consequence(app: AppContext) -> None:
    account_id = _account(app)
    back = (app.clock.now() + timedelta(days=3)).date()
    raw = _out_of_office("stranger@example.org", back=back, in_reply_to=None)
    done = _process(app, account_id, raw, 1, HOLD)
    assert done is not None and done.kind == "auto_reply_unmatched"
    with app.sessions() as session:
        event = session.scalars(select(Event)).one()
        assert (event.type, event.message_id) == ("auto_reply_unmatched", None)
        assert session.scalars(select(RecipientState)).all() == []


def test_thread_index_and_incoming_reference_link_later_messages(app_any_db: AppContext) -> None:
    ctx = app_any_db
    account_id = _account(ctx)
    first = _send(ctx, account_id, "bob@example.com")
    root = base64.b64encode(bytes(range(1, 23))).decode()
    reply_id = email.utils.make_msgid(domain="example.com")
    one = _reply(
        first.message_id,
        sender="bob@example.com",
        body="Let's talk on Tuesday.",
        extra=f"Thread-Index: {root}\r\n",
    ).replace(b"Message-ID: <", b"X-Old-Id: <", 1)
    one = one.replace(b"From: ", f"Message-ID: {reply_id}\r\nFrom: ".encode(), 1)
    assert _process(ctx, account_id, one, 1, HOLD).match_rule == "in_reply_to"  # type: ignore[union-attr]
    child = base64.b64encode(bytes(range(1, 23)) + b"\x00\x01\x02\x03\x04").decode()
    two = (
        f"From: bob@example.com\r\nTo: ana@fluenzr.test\r\nSubject: one more thing\r\n"
        f"Message-ID: {email.utils.make_msgid()}\r\nThread-Index: {child}\r\n\r\nAlso: pricing?\r\n"
    ).encode()
    assert _process(ctx, account_id, two, 2, HOLD).match_rule == "thread_index"  # type: ignore[union-attr]
    three = (
        f"From: carol@example.com\r\nTo: ana@fluenzr.test\r\nSubject: Re: one more thing\r\n"
        f"Message-ID: {email.utils.make_msgid()}\r\nIn-Reply-To: {reply_id}\r\n\r\nMe too\r\n"
    ).encode()
    assert _process(ctx, account_id, three, 3, HOLD).match_rule == "incoming_reference"  # type: ignore[union-attr]
    with ctx.sessions() as session:
        rows = session.scalars(select(IncomingMessage).order_by(IncomingMessage.uid)).all()
        assert [r.outbox_id for r in rows] == [first.id] * 3
        assert [r.intent for r in rows] == ["meeting", "question", "unknown"]
        assert bounce_rate(session, account_id=account_id, window=100) == (0, 1)
    meetings = events_query.list_events(
        ctx, workspace_id=default_workspace_id(ctx.sessions), intent="meeting"
    )
    assert [e.type for e in meetings] == ["reply"]
    assert meetings[0].data["intent_phrase"] == "Let's talk"
