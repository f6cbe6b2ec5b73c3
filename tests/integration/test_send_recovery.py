"""Crash recovery against the real Dovecot: a message left in ``sending`` is looked up in Sent."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Event
from fluenzr.storage.models.outbox import OutboxMessage
from tests.integration.send_support import add_account, enqueue, message, run_until_idle
from tests.support.mailservers import (
    IMAP_PORT,
    IMAPS_PORT,
    SUBMISSION_PORT,
    ca_pem,
    create_user,
    list_messages,
    wait_for_message,
)

pytestmark = pytest.mark.mailserver


def _abandon(app: AppContext, outbox_id: int) -> None:
    """What a worker killed during DATA leaves behind: ``sending`` and an expired lease."""
    with transaction(app.sessions) as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        now = app.clock.now()
        row.status, row.locked_by = "sending", "dead-worker"
        row.locked_until = now - timedelta(seconds=1)
        row.sending_at = row.sending_at or now - timedelta(minutes=1)
        row.attempts += 1


@pytest.mark.parametrize(
    ("imap_port", "imap_security"), [(IMAPS_PORT, "ssl"), (IMAP_PORT, "starttls")]
)
def test_found_in_sent_is_sent_missing_is_set_aside(
    mailserver: None, app: AppContext, imap_port: int, imap_security: str
) -> None:
    sender, rcpt = create_user("recover"), create_user("recover-rcpt")
    account_id = add_account(
        app,
        email=sender.email,
        password=sender.password,
        port=SUBMISSION_PORT,
        security="starttls",
        imap_port=imap_port,
        imap_security=imap_security,
        smtp_ca_pem=ca_pem(),
        imap_ca_pem=ca_pem(),
    )
    delivered = enqueue(app, account_id, rcpt.email, subject="delivered")
    run_until_idle(app)
    assert wait_for_message(sender, folder="Sent", message_id=f"<{delivered.message_id}>")
    _abandon(app, delivered.id)  # crashed after 250, before "sent" was written
    unknown = enqueue(app, account_id, rcpt.email, subject="unknown")
    with transaction(app.sessions) as session:  # never reached the server
        session.get(OutboxMessage, unknown.id).locked_by = None  # type: ignore[union-attr]
    _abandon(app, unknown.id)

    run_until_idle(app)

    first, second = message(app, delivered.id), message(app, unknown.id)
    assert (first.status, first.reason) == ("sent", "recovered_from_sent")
    assert (second.status, second.reason) == ("needs_review", "interrupted_during_send")
    subjects = [m.subject for m in list_messages(rcpt)]
    assert subjects == ["delivered"]  # neither was sent again
    with app.sessions() as session:
        review = session.scalars(select(Event).where(Event.type == "needs_review")).all()
    assert [json.loads(e.data)["message_id"] for e in review] == [unknown.message_id]


def test_without_imap_a_stale_sending_needs_review(mailserver: None, app: AppContext) -> None:
    sender, rcpt = create_user("recover2"), create_user("recover2-rcpt")
    account_id = add_account(
        app,
        email=sender.email,
        password=sender.password,
        port=SUBMISSION_PORT,
        security="starttls",
        smtp_ca_pem=ca_pem(),
        imap_ca_pem=ca_pem(),
    )
    queued = enqueue(app, account_id, rcpt.email)
    _abandon(app, queued.id)
    run_until_idle(app)
    assert message(app, queued.id).status == "needs_review"
    assert list_messages(rcpt) == []
