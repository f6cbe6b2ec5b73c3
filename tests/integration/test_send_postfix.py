"""Sending through the real Postfix submission port, with the copy in Dovecot's Sent."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from fluenzr.services.context import AppContext
from tests.integration.send_support import add_account, enqueue, message, run_until_idle
from tests.support.mailservers import (
    IMAP_PORT,
    IMAPS_PORT,
    SUBMISSION_PORT,
    SUBMISSIONS_PORT,
    ca_pem,
    create_user,
    list_messages,
    wait_for_message,
)

pytestmark = pytest.mark.mailserver


@pytest.mark.parametrize(
    ("port", "security", "imap_port", "imap_security"),
    [
        (SUBMISSION_PORT, "starttls", IMAPS_PORT, "ssl"),
        (SUBMISSIONS_PORT, "ssl", IMAPS_PORT, "ssl"),
        # STARTTLS IMAP (e.g. ProtonMail Bridge on 1143): the copy goes over the upgraded link.
        (SUBMISSION_PORT, "starttls", IMAP_PORT, "starttls"),
    ],
)
def test_send_arrives_with_copy_in_sent(
    mailserver: None, app: AppContext, port: int, security: str, imap_port: int, imap_security: str
) -> None:
    sender, rcpt = create_user("send"), create_user("rcpt")
    account_id = add_account(
        app,
        email=sender.email,
        password=sender.password,
        port=port,
        security=security,
        imap_port=imap_port,
        imap_security=imap_security,
        smtp_ca_pem=ca_pem(),
        imap_ca_pem=ca_pem(),
    )
    queued = enqueue(app, account_id, rcpt.email, subject="Reunión mañana")
    assert queued.status == "queued"
    run_until_idle(app)

    row = message(app, queued.id)
    assert (row.status, row.sent_copy) == ("sent", "done")
    got = wait_for_message(rcpt, message_id=f"<{queued.message_id}>")
    assert got is not None
    parsed = message_from_bytes(got.raw, policy=policy.default)
    assert parsed["Subject"] == "Reunión mañana"
    assert parsed["From"].addresses[0].addr_spec == sender.email
    copy = wait_for_message(sender, folder="Sent", message_id=f"<{queued.message_id}>")
    assert copy is not None and "\\Seen" in copy.flags
    # The copy is the exact bytes that were sent (Postfix only prepends its trace headers).
    assert got.raw.replace(b"\r\n", b"\n").endswith(copy.raw.replace(b"\r\n", b"\n"))
    assert len(list_messages(rcpt)) == 1
