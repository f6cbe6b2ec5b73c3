"""The shared test Postfix + Dovecot behave as tests/support/mailservers.py promises."""

from __future__ import annotations

import asyncio
import smtplib

import aiosmtplib
import pytest

from fluenzr.mail.imap import ImapSession, connect_imap
from tests.support.mailservers import (
    DOMAIN,
    HOST,
    LIMITED_PORT,
    SMTP_PLAIN_PORT,
    SUBMISSION_PORT,
    MailUser,
    client_tls_context,
    create_user,
    create_users,
    deliver,
    folder_names,
    list_messages,
    make_message,
    wait_for_message,
)

pytestmark = pytest.mark.mailserver


async def test_delivered_mail_arrives_unseen(mailserver: None) -> None:
    user = create_user("support")
    raw = make_message(to=user.email, subject="arrives", message_id=f"<arrives@{DOMAIN}>")
    await deliver(user.email, raw)
    found = wait_for_message(user, message_id=f"<arrives@{DOMAIN}>")
    assert found is not None
    assert "\\Seen" not in found.flags
    # Reading with BODY.PEEK did not mark it \Seen either.
    assert "\\Seen" not in list_messages(user)[0].flags


async def test_unknown_recipient_is_refused_at_rcpt(mailserver: None) -> None:
    client = aiosmtplib.SMTP(hostname=HOST, port=SMTP_PLAIN_PORT, start_tls=False, timeout=10)
    async with client:
        await client.mail(f"tester@{DOMAIN}")
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await client.rcpt(f"nobody-here@{DOMAIN}")
    assert refused.value.code == 550
    assert refused.value.message.startswith("5.1.1")


async def test_plus_address_reaches_the_user(mailserver: None) -> None:
    user = create_user("support")
    local, domain = user.email.split("@")
    await deliver(f"{local}+tag@{domain}", make_message(to=user.email, subject="plus"))
    assert wait_for_message(user, subject="plus") is not None


async def test_user_created_mid_session_is_accepted(mailserver: None) -> None:
    client = aiosmtplib.SMTP(hostname=HOST, port=SMTP_PLAIN_PORT, start_tls=False, timeout=10)
    async with client:
        user = create_user("support")
        await client.mail(f"tester@{DOMAIN}")
        code, _ = await client.rcpt(user.email)
    assert code == 250


def test_submission_requires_tls_then_auth(mailserver: None) -> None:
    user = create_user("support")
    with smtplib.SMTP(HOST, SUBMISSION_PORT, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")  # never offered before TLS
        smtp.starttls(context=client_tls_context())
        smtp.ehlo()
        assert {"PLAIN", "LOGIN", "CRAM-MD5"} <= set(smtp.esmtp_features["auth"].upper().split())
        smtp.login(user.email, user.password)
        smtp.sendmail(user.email, [user.email], make_message(to=user.email, subject="self"))
    assert wait_for_message(user, subject="self") is not None


def test_special_use_folders_exist(mailserver: None) -> None:
    names = folder_names(create_user("support"))
    assert names["\\Sent"] == "Sent"
    assert {"\\Drafts", "\\Trash", "\\Junk", "INBOX"} <= set(names)


@pytest.mark.xdist_group("postfix-anvil")  # port 10588's allowance is per client address
def test_limited_port_says_too_much_mail(mailserver: None) -> None:
    user = create_user("support")
    replies: list[tuple[int, bytes]] = []
    with smtplib.SMTP(HOST, LIMITED_PORT, timeout=10) as smtp:
        smtp.starttls(context=client_tls_context())
        smtp.login(user.email, user.password)
        for _ in range(5):
            replies.append(smtp.mail(user.email))
            smtp.rset()
    codes = [code for code, _ in replies]
    assert 450 in codes
    text = dict(replies)[450].decode()
    assert text.startswith("4.7.1")
    assert "too much mail" in text


async def test_hundreds_of_idle_connections(mailserver: None) -> None:
    # More connections than Dovecot's default limits allow (the detection benchmark needs 1,000).
    users = create_users("many", 250)
    gate = asyncio.Semaphore(50)

    async def watch(user: MailUser) -> ImapSession:
        async with gate:
            session = await connect_imap(user.imap_endpoint(), timeout=30)
            await session.select("INBOX")
            await session.idle_start()
            return session

    sessions = await asyncio.gather(*[watch(user) for user in users])
    try:
        await deliver(users[-1].email, make_message(to=users[-1].email))
        assert any(line.endswith(b"EXISTS") for line in await sessions[-1].idle_wait(timeout=5))
    finally:
        for session in sessions:
            await session.aclose()
