"""End to end on the shared Postfix + Dovecot (issue 15): a feedback-loop complaint, a
synchronous 550 5.1.1 at RCPT and a reply whose In-Reply-To has no angle brackets each give
the right event and consequence."""

from __future__ import annotations

import email.utils

import pytest
from sqlalchemy import select

from fluenzr.detection.consequences import bounce_rate
from fluenzr.detection.watcher import run_detection
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.services.context import AppContext
from fluenzr.services.runtime import credentials_opener
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.detection import IncomingMessage, Suppression
from fluenzr.storage.models.outbox import CANCELLED, FAILED
from tests.integration.send_support import add_account, enqueue, message, run_until_idle
from tests.integration.test_detect_imap import FAST, _account, _send
from tests.support.mailservers import DOMAIN, SUBMISSION_PORT, ca_pem, create_user, deliver

pytestmark = [pytest.mark.mailserver]


@pytest.fixture(autouse=True)
def _test_domains(mailserver: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import email_validator

    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)


def _events(ctx: AppContext, kind: str) -> list[Event]:
    with ctx.sessions() as session:
        return list(session.scalars(select(Event).where(Event.type == kind)))


def _arf(*, reporter: str, to: str, original_id: str, complainant: str) -> bytes:
    return (
        f"From: {reporter}\r\nTo: {to}\r\nSubject: FW: Quick question\r\n"
        f"Message-ID: {email.utils.make_msgid(domain='fbl.example')}\r\n"
        f"Date: {email.utils.formatdate()}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="arf"\r\n\r\n'
        "--arf\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n"
        "--arf\r\nContent-Type: message/feedback-report\r\n\r\n"
        f"Feedback-Type: abuse\r\nUser-Agent: TestFBL/1.0\r\nVersion: 1\r\n"
        f"Original-Rcpt-To: {complainant}\r\n"
        "--arf\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {to}\r\nTo: {complainant}\r\nSubject: Quick question\r\n"
        f"Message-ID: <{original_id}>\r\n"
        "--arf--\r\n"
    ).encode()


async def test_complaint_suppresses_and_pauses_on_the_complaint_rate(app: AppContext) -> None:
    alice, bob = create_user("det-fbl"), create_user("det-fblb")
    account_id = _account(app, alice)
    sent = await _send(app, alice, account_id, bob.email)
    report = _arf(
        reporter="feedback@fbl.example",
        to=alice.email,
        original_id=sent.message_id,
        complainant=bob.email,
    )
    await deliver(alice.email, report, sender=f"fbl@{DOMAIN}")
    await run_detection(app, open_credentials=credentials_opener(app), until_idle=True, config=FAST)
    complaints = _events(app, "complaint")
    assert [(e.message_id, e.recipient) for e in complaints] == [(sent.id, bob.email)]
    with app.sessions() as session:
        suppression = session.scalars(select(Suppression)).one()
        assert (suppression.email, suppression.reason) == (bob.email, "complaint")
        incoming = session.scalars(select(IncomingMessage)).one()
        assert (incoming.kind, incoming.match_rule) == ("complaint", "embedded_original")
        account = session.get(Account, account_id)
        assert account is not None
        assert account.status == "paused"  # 1 complaint in 1 send: over 0.1%
    paused = _events(app, "account_paused")
    assert paused and '"complaint_rate"' in paused[-1].data


async def test_unbracketed_in_reply_to_is_matched_by_id(app: AppContext) -> None:
    alice, bob = create_user("det-nb"), create_user("det-nbb")
    account_id = _account(app, alice)
    first = await _send(app, alice, account_id, bob.email)
    follow_up = enqueue(app, account_id, bob.email, subject="Seguimiento", stop_on_reply=True)
    reply = (
        f"From: {bob.email}\r\nTo: {alice.email}\r\nSubject: otra cosa\r\n"
        f"Message-ID: {email.utils.make_msgid(domain='fluenzr.test')}\r\n"
        f"In-Reply-To: {first.message_id}\r\n"  # no <>: some gateways write it so
        f"Date: {email.utils.formatdate()}\r\n\r\nNo nos interesa, gracias.\r\n"
    ).encode()
    await deliver(alice.email, reply, sender=bob.email)
    await run_detection(app, open_credentials=credentials_opener(app), until_idle=True, config=FAST)
    replies = _events(app, "reply")
    assert [(e.message_id, e.recipient) for e in replies] == [(first.id, bob.email)]
    assert '"intent": "not_interested"' in replies[0].data
    with app.sessions() as session:
        incoming = session.scalars(select(IncomingMessage)).one()
        assert incoming.match_rule == "in_reply_to"
        assert (incoming.intent, incoming.intent_phrase) == ("not_interested", "No nos interesa")
    assert message(app, follow_up.id).status == CANCELLED


def test_synchronous_550_5_1_1_is_a_hard_bounce(mailserver: None, app: AppContext) -> None:
    sender = create_user("det-sync")
    account_id = add_account(
        app,
        email=sender.email,
        password=sender.password,
        port=SUBMISSION_PORT,
        security="starttls",
        smtp_ca_pem=ca_pem(),
    )
    ghost = f"nobody-{sender.email.split('@')[0]}@{DOMAIN}"
    queued = enqueue(app, account_id, ghost)
    run_until_idle(app)
    row = message(app, queued.id)
    assert (row.status, row.reason) == (FAILED, "recipient_rejected")
    bounces = _events(app, "bounce")
    assert [(e.message_id, e.recipient) for e in bounces] == [(queued.id, ghost)]
    assert '"synchronous": true' in bounces[0].data and '"5.1.1"' in bounces[0].data
    with app.sessions() as session:
        suppression = session.scalars(select(Suppression)).one()
        assert (suppression.email, suppression.reason) == (ghost, "bounce")
        assert bounce_rate(session, account_id=account_id, window=100) == (1, 1)
    # The next message to the same address is refused at enqueue: suppressed.
    with pytest.raises(ValidationError) as refused:
        enqueue(app, account_id, ghost)
    assert refused.value.code == ErrorCode.RECIPIENT_SUPPRESSED
