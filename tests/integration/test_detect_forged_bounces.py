"""Forged bounces (SQLite and PostgreSQL): a bounce suppresses and counts only for a recipient
this account really wrote to; any other is a ``bounce_unmatched`` event with no consequence."""

from __future__ import annotations

import email.utils
import json

from sqlalchemy import select

from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.consequences import bounce_rate
from fluenzr.detection.processing import Processed
from fluenzr.services.context import AppContext
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.detection import IncomingMessage, Suppression
from tests.integration.test_detect_processing import (
    _account,
    _bounce,
    _send,
    _test_domains,  # noqa: F401 - the autouse fixture allowing .test addresses
)
from tests.support.detection import process_raw

# Any counted bounce would pause the account at once.
TRIGGER_HAPPY = DetectionConfig(bounce_rate_min_sends=1, bounce_rate_threshold=0.0)


def _process(ctx: AppContext, account_id: int, raw: bytes, uid: int) -> Processed | None:
    return process_raw(ctx, account_id, raw, uid=uid, config=TRIGGER_HAPPY)


def _x_failed(address: str) -> bytes:
    return (
        "From: Mail Delivery System <mailer-daemon@mx.example.com>\r\n"
        "To: ana@fluenzr.test\r\nSubject: Mail delivery failed\r\n"
        f"X-Failed-Recipients: {address}\r\n"
        f"Message-ID: {email.utils.make_msgid()}\r\n\r\n"
        f"This message was created automatically.\r\n\r\n  {address}\r\n    550 5.1.1 unknown\r\n"
    ).encode()


def _assert_no_consequence(ctx: AppContext, account_id: int) -> None:
    with ctx.sessions() as session:
        assert session.scalars(select(Suppression.email)).all() == []
        account = session.get(Account, account_id)
        assert account is not None and account.status != "paused"
        assert bounce_rate(session, account_id=account_id, window=100)[0] == 0
        types = sorted(e.type for e in session.scalars(select(Event)))
        assert "account_paused" not in types and "bounce" not in types


def test_forged_bounce_naming_a_stranger_for_our_message(app_any_db: AppContext) -> None:
    """An attacker who saw one of our Message-IDs forges its DSN for someone else's address."""
    ctx = app_any_db
    account_id = _account(ctx)
    sent = _send(ctx, account_id, "p0@example.com")
    done = _process(ctx, account_id, _bounce("ceo@victim.example", sent.message_id), 1)
    assert done is not None and done.kind == "bounce_unmatched"
    _assert_no_consequence(ctx, account_id)
    with ctx.sessions() as session:
        event = session.scalars(select(Event).where(Event.type == "bounce_unmatched")).one()
        assert event.recipient is None
        assert json.loads(event.data)["failed_recipients"] == ["ceo@victim.example"]
        row = session.scalars(select(IncomingMessage)).one()
        assert (row.kind, row.recipient) == ("bounce_unmatched", None)


def test_bounce_for_an_address_never_written_to(app_any_db: AppContext) -> None:
    ctx = app_any_db
    account_id = _account(ctx)
    _send(ctx, account_id, "p0@example.com")
    forged = _x_failed("someone@else.example")
    done = _process(ctx, account_id, forged, 1)
    assert done is not None and done.kind == "bounce_unmatched" and done.outbox_id is None
    _assert_no_consequence(ctx, account_id)
    # Seen once: the same message again (a copy, a resync) records nothing more.
    assert _process(ctx, account_id, forged, 2) is None
    with ctx.sessions() as session:
        assert len(session.scalars(select(Event)).all()) == 1


def test_a_real_bounce_still_suppresses_and_counts(app_any_db: AppContext) -> None:
    ctx = app_any_db
    account_id = _account(ctx)
    sent = _send(ctx, account_id, "p0@example.com")
    done = _process(ctx, account_id, _bounce("p0@example.com", sent.message_id), 1)
    assert done is not None and done.kind == "bounce"
    with ctx.sessions() as session:
        assert session.scalars(select(Suppression.email)).all() == ["p0@example.com"]
        account = session.get(Account, account_id)
        assert account is not None and account.status == "paused"
        assert bounce_rate(session, account_id=account_id, window=100)[0] == 1
