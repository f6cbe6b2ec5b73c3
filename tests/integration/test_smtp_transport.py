"""SMTP transport against in-process fault servers and the real Postfix (no mocks)."""

from __future__ import annotations

import time

import pytest

from fluenzr.core.endpoints import Endpoint, Security, TlsPolicy
from fluenzr.core.secret import Secret
from fluenzr.errors import MailError
from fluenzr.i18n import LANGUAGES
from fluenzr.mail.reply_codes import Stage
from fluenzr.mail.smtp import RecipientResult, SmtpSession, connect_smtp
from tests.support import mailservers as ms
from tests.support.fault_smtp import (
    PASSWORD,
    USER,
    SmtpFaults,
    closed_port,
    raw_server,
    smtp_server,
)

RAW = b"From: ana@fault.test\r\nTo: bob@fault.test\r\nSubject: hi\r\n\r\nHello\r\n"


def assert_error(error: MailError, code: str, category: str) -> None:
    assert error.code == code
    assert error.category == category
    for lang in LANGUAGES:
        assert error.message(lang) and "{" not in error.message(lang)
        assert error.hint(lang) and "{" not in error.hint(lang)


# -- in-process servers: the happy path -----------------------------------------------------


async def test_send_over_starttls_with_auth() -> None:
    async with smtp_server() as server, await connect_smtp(server.endpoint(), timeout=5) as smtp:
        assert smtp.secure
        assert smtp.mechanism == "PLAIN"
        result = await smtp.send(RAW, sender=USER, recipients=["bob@fault.test"])
    assert result.ok
    assert result.accepted == ("bob@fault.test",)
    assert result.reply.reply_code == 250
    assert server.received[0].content.endswith(b"Hello\r\n")
    assert server.auth == [("PLAIN", USER, True)]


async def test_send_over_implicit_tls_and_reuse_connection() -> None:
    async with (
        smtp_server(SmtpFaults(implicit_tls=True)) as server,
        await connect_smtp(server.endpoint(Security.SSL), timeout=5) as smtp,
    ):
        for n in range(3):
            result = await smtp.send(RAW, sender=USER, recipients=[f"r{n}@fault.test"])
            assert result.ok
    assert len(server.received) == 3
    assert server.connections == 1


async def test_login_mechanism_can_be_chosen() -> None:
    async with smtp_server() as server:
        smtp = SmtpSession(server.endpoint(), timeout=5)
        await smtp.open()
        await smtp.hello()
        assert await smtp.login(mechanism="LOGIN") == "LOGIN"
        await smtp.quit()
    assert server.auth == [("LOGIN", USER, True)]


# -- in-process servers: faults --------------------------------------------------------------


async def test_refused_port() -> None:
    port = await closed_port()
    endpoint = Endpoint("127.0.0.1", port, Security.STARTTLS, USER, Secret(PASSWORD))
    with pytest.raises(MailError) as caught:
        await connect_smtp(endpoint, timeout=5)
    assert_error(caught.value, "connection_refused", "connection")
    assert str(port) in caught.value.message("es")


async def test_stalled_server_times_out_in_bounded_time() -> None:
    async with raw_server({"greeting": "stall"}) as server:
        started = time.monotonic()
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(), timeout=1)
    assert_error(caught.value, "timeout", "timeout")
    # Bounded by the 1 s asked for, not the 10 s default; the margin absorbs a loaded machine.
    assert time.monotonic() - started < 8


@pytest.mark.parametrize(
    ("greeting", "code", "category"),
    [
        ("421 4.3.2 Service not available", "server_unavailable", "connection"),
        ("554 5.3.2 No SMTP service here", "server_unavailable", "connection"),
        ("421 4.7.0 Error: too many connections from 127.0.0.1", "sending_limit", "sending_limit"),
    ],
)
async def test_greeting_refusal(greeting: str, code: str, category: str) -> None:
    async with raw_server({"greeting": greeting}) as server:
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(Security.NONE), timeout=5)
    assert_error(caught.value, code, category)
    assert caught.value.reply_code == int(greeting[:3])


async def test_drop_during_data_is_an_unknown_outcome() -> None:
    async with raw_server({"dot": "drop"}) as server:
        smtp = await connect_smtp(server.endpoint(Security.NONE), timeout=5, login=False)
        with pytest.raises(MailError) as caught:
            await smtp.send(RAW, sender=USER, recipients=["bob@fault.test"])
        smtp.close()
    assert_error(caught.value, "server_disconnected", "connection")
    assert caught.value.params["stage"] == "message"


@pytest.mark.parametrize(
    ("silent", "stage"), [("mail", "mail"), ("rcpt", "rcpt"), ("dot", "message")]
)
async def test_silence_at_any_stage_is_a_bounded_timeout(silent: str, stage: str) -> None:
    async with raw_server({silent: "stall"}) as server:
        smtp = await connect_smtp(server.endpoint(Security.NONE), timeout=1, login=False)
        started = time.monotonic()
        with pytest.raises(MailError) as caught:
            await smtp.send(RAW, sender=USER, recipients=["bob@fault.test"])
        await smtp.aclose()
    assert_error(caught.value, "timeout", "timeout")
    assert caught.value.params["stage"] == stage  # "message": the outcome is unknown
    # Bounded by the 1 s asked for, not the 10 s default; the margin absorbs a loaded machine.
    assert time.monotonic() - started < 8


@pytest.mark.parametrize(
    ("faults", "stage", "code", "reply"),
    [
        (
            SmtpFaults(mail="452 4.7.1 Too many messages, try again in 10 minutes"),
            Stage.MAIL,
            "sending_limit",
            452,
        ),
        (SmtpFaults(mail="553 5.1.7 Sender address invalid"), Stage.MAIL, "sender_rejected", 553),
        (SmtpFaults(mail="421 4.3.0 Shutting down"), Stage.MAIL, "server_unavailable", 421),
        (
            SmtpFaults(rcpt={"bob@fault.test": "550 5.1.1 User unknown"}),
            Stage.RCPT,
            "recipient_rejected",
            550,
        ),
        (
            SmtpFaults(rcpt={"bob@fault.test": "451 4.3.0 Try later"}),
            Stage.RCPT,
            "temporary_failure",
            451,
        ),
        (SmtpFaults(message="554 5.7.1 Spam detected"), Stage.MESSAGE, "message_rejected", 554),
        (SmtpFaults(message="552 5.3.4 Message too big"), Stage.MESSAGE, "message_too_large", 552),
        (SmtpFaults(message="452 4.2.2 Mailbox full"), Stage.MESSAGE, "mailbox_full", 452),
        (
            SmtpFaults(message="550 5.4.5 Daily user sending limit exceeded"),
            Stage.MESSAGE,
            "sending_limit",
            550,
        ),
        (
            SmtpFaults(message="451 4.3.0 Queue write error"),
            Stage.MESSAGE,
            "temporary_failure",
            451,
        ),
    ],
)
async def test_reply_failures_are_values(
    faults: SmtpFaults, stage: Stage, code: str, reply: int
) -> None:
    async with (
        smtp_server(faults) as server,
        await connect_smtp(server.endpoint(), timeout=5) as smtp,
    ):
        result = await smtp.send(RAW, sender=USER, recipients=["bob@fault.test"])
        # The connection stays usable after a refused transaction (RSET), except after
        # a 421, which closes it (RFC 5321 section 3.8).
        faults.mail, faults.rcpt, faults.message = None, {}, None
        if reply != 421:
            assert (await smtp.send(RAW, sender=USER, recipients=["bob@fault.test"])).ok
            assert len(server.received) == 1
    assert not result.ok
    assert result.stage is stage
    (only,) = result.recipients
    assert (only.code, only.reply_code) == (code, reply)
    error = result.error(host="127.0.0.1")
    assert error is not None
    assert error.reply_code == reply


async def test_retry_after_reaches_the_result() -> None:
    faults = SmtpFaults(mail="450 4.7.1 Rate limited, try again in 2 minutes")
    async with (
        smtp_server(faults) as server,
        await connect_smtp(server.endpoint(), timeout=5) as smtp,
    ):
        result = await smtp.send(RAW, sender=USER, recipients=["bob@fault.test"])
    assert result.recipients[0].retry_after == 120
    error = result.error()
    assert error is not None
    assert error.params["retry_after"] == 120


async def test_some_recipients_refused() -> None:
    faults = SmtpFaults(rcpt={"gone@fault.test": "550 5.1.1 User unknown"})
    async with (
        smtp_server(faults) as server,
        await connect_smtp(server.endpoint(), timeout=5) as smtp,
    ):
        result = await smtp.send(RAW, sender=USER, recipients=["bob@fault.test", "gone@fault.test"])
    assert result.accepted == ("bob@fault.test",)
    assert [r.code for r in result.rejected] == ["recipient_rejected"]
    assert server.received[0].recipients == ["bob@fault.test"]


async def test_wrong_password() -> None:
    async with smtp_server() as server:
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(password="wrong"), timeout=5)
    assert_error(caught.value, "auth_failed", "auth")
    assert caught.value.reply_code == 535
    assert USER in caught.value.message("es")
    assert "wrong" not in str(caught.value.to_dict())


async def test_auth_reply_is_classified() -> None:
    faults = SmtpFaults(auth_reply="454 4.7.0 Too many login attempts, please try again later")
    async with smtp_server(faults) as server:
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(), timeout=5)
    assert_error(caught.value, "auth_throttled", "auth")


async def test_no_supported_mechanism() -> None:
    async with raw_server({"ehlo": "AUTH GSSAPI XOAUTH2"}) as server:
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(Security.NONE), timeout=5)
    assert_error(caught.value, "auth_mechanism_unsupported", "auth")
    assert "GSSAPI" in caught.value.message("en")
    assert b"AUTH" not in bytes(server.received)


async def test_password_never_sent_before_tls_when_starttls_missing() -> None:
    # A bad server: offers AUTH in clear and no STARTTLS.
    async with smtp_server(SmtpFaults(starttls=False, auth_before_tls=True)) as server:
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(Security.STARTTLS), timeout=5)
    assert_error(caught.value, "starttls_unavailable", "tls")
    assert server.auth == []
    assert not server.saw_in_plaintext(PASSWORD)
    assert b"AUTH" not in bytes(server.plaintext)


async def test_auth_offered_in_clear_is_only_used_after_starttls() -> None:
    async with (
        smtp_server(SmtpFaults(auth_before_tls=True)) as server,
        await connect_smtp(server.endpoint(Security.STARTTLS), timeout=5),
    ):
        pass
    assert server.auth == [("PLAIN", USER, True)]
    assert b"STARTTLS" in bytes(server.plaintext)
    assert b"AUTH" not in bytes(server.plaintext)
    assert not server.saw_in_plaintext(PASSWORD)


async def test_cleartext_to_a_remote_host_is_refused_before_connecting() -> None:
    endpoint = Endpoint("mail.example.com", 25, Security.NONE, USER, Secret(PASSWORD))
    with pytest.raises(MailError) as caught:
        await connect_smtp(endpoint, timeout=5)
    assert_error(caught.value, "cleartext_not_allowed", "tls")


async def test_implicit_tls_server_with_starttls_setting() -> None:
    async with smtp_server(SmtpFaults(implicit_tls=True)) as server:
        started = time.monotonic()
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(Security.STARTTLS), timeout=60)
    assert_error(caught.value, "tls_mode_mismatch", "tls")
    assert caught.value.params["suggested"] == "SSL"
    assert time.monotonic() - started < 20  # detected, not the 60 s timeout waited out


async def test_starttls_server_with_ssl_setting() -> None:
    async with smtp_server() as server:
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(Security.SSL), timeout=5)
    assert_error(caught.value, "tls_mode_mismatch", "tls")
    assert caught.value.params["suggested"] == "TLS"
    assert server.auth == []


# -- the real Postfix --------------------------------------------------------------------------


@pytest.mark.mailserver
async def test_postfix_submission_delivers_to_dovecot(mailserver: None) -> None:
    user = ms.create_user("smtp")
    other = ms.create_user("smtp")
    raw = ms.make_message(to=other.email, sender=user.email, subject="via 10587")
    async with await connect_smtp(user.smtp_endpoint(), timeout=10) as smtp:
        assert smtp.capabilities.size_limit
        result = await smtp.send(
            raw, sender=user.email, recipients=[other.email, f"nobody-x1@{ms.DOMAIN}"]
        )
    assert result.accepted == (other.email,)
    (refused,) = result.rejected
    assert (refused.code, refused.reply_code, refused.enhanced_code) == (
        "recipient_rejected",
        550,
        "5.1.1",
    )
    assert ms.wait_for_message(other, subject="via 10587") is not None


@pytest.mark.mailserver
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
async def test_postfix_mechanisms_over_implicit_tls(mailserver: None, mechanism: str) -> None:
    user = ms.create_user("smtp")
    smtp = SmtpSession(user.smtp_endpoint(port=ms.SUBMISSIONS_PORT), timeout=10)
    await smtp.open()
    caps = await smtp.hello()
    assert mechanism in caps.auth_mechanisms
    assert await smtp.login(mechanism=mechanism) == mechanism
    assert smtp.tls_version in {"TLSv1.2", "TLSv1.3"}
    await smtp.quit()


@pytest.mark.mailserver
async def test_postfix_wrong_password(mailserver: None) -> None:
    user = ms.create_user("smtp")
    endpoint = Endpoint(
        ms.HOST,
        ms.SUBMISSION_PORT,
        Security.STARTTLS,
        user.email,
        Secret("not-" + user.password),
        TlsPolicy(ca_pem=ms.ca_pem()),
    )
    with pytest.raises(MailError) as caught:
        await connect_smtp(endpoint, timeout=10)
    assert_error(caught.value, "auth_failed", "auth")
    assert (caught.value.reply_code, caught.value.enhanced_code) == (535, "5.7.8")


@pytest.mark.mailserver
async def test_postfix_plain_port_has_no_starttls(mailserver: None) -> None:
    user = ms.create_user("smtp")
    with pytest.raises(MailError) as caught:
        await connect_smtp(user.smtp_endpoint(port=ms.SMTP_PLAIN_PORT, security=Security.STARTTLS))
    assert_error(caught.value, "starttls_unavailable", "tls")


@pytest.mark.mailserver
async def test_postfix_plain_port_on_loopback_without_tls(mailserver: None) -> None:
    user = ms.create_user("smtp")
    raw = ms.make_message(to=user.email, subject="plain")
    async with await connect_smtp(user.smtp_endpoint(port=ms.SMTP_PLAIN_PORT), login=False) as smtp:
        assert not smtp.secure
        assert (await smtp.send(raw, sender=f"x@{ms.DOMAIN}", recipients=[user.email])).ok
    assert ms.wait_for_message(user, subject="plain") is not None


@pytest.mark.mailserver
@pytest.mark.parametrize(
    ("port", "security", "suggested"),
    [(ms.SUBMISSION_PORT, Security.SSL, "TLS"), (ms.SUBMISSIONS_PORT, Security.STARTTLS, "SSL")],
)
async def test_postfix_tls_mode_mismatch(
    mailserver: None, port: int, security: Security, suggested: str
) -> None:
    user = ms.create_user("smtp")
    with pytest.raises(MailError) as caught:
        await connect_smtp(user.smtp_endpoint(port=port, security=security), timeout=10)
    assert_error(caught.value, "tls_mode_mismatch", "tls")
    assert caught.value.params["suggested"] == suggested


@pytest.mark.mailserver
@pytest.mark.xdist_group("postfix-anvil")  # port 10588's allowance is per client address
async def test_postfix_rate_limit_is_a_sending_limit(mailserver: None) -> None:
    user = ms.create_user("smtp")
    raw = ms.make_message(to=user.email, subject="limited")
    codes = []
    async with await connect_smtp(user.smtp_endpoint(port=ms.LIMITED_PORT)) as smtp:
        for _ in range(5):
            result = await smtp.send(raw, sender=user.email, recipients=[user.email])
            codes.append(result.recipients[0].code)
    assert "sending_limit" in codes
    limited = codes.index("sending_limit")
    assert all(code == "sending_limit" for code in codes[limited:])


async def test_before_data_hook_runs_before_data_and_can_abort() -> None:
    faults = SmtpFaults(rcpt={"gone@fault.test": "450 4.2.1 Try later"})
    seen: list[tuple[str, ...]] = []

    async def only_if_all_accepted(results: tuple[RecipientResult, ...]) -> bool:
        seen.append(tuple(r.code for r in results))
        return all(r.accepted for r in results)

    async with smtp_server(faults) as server, await connect_smtp(server.endpoint()) as smtp:
        partial = await smtp.send(
            RAW,
            sender=USER,
            recipients=["bob@fault.test", "gone@fault.test"],
            before_data=only_if_all_accepted,
        )
        whole = await smtp.send(
            RAW, sender=USER, recipients=["bob@fault.test"], before_data=only_if_all_accepted
        )
    assert seen == [("accepted", "temporary_failure"), ("accepted",)]
    assert partial.stage is Stage.RCPT
    assert partial.reply.code == "temporary_failure"
    assert whole.ok
    assert len(server.received) == 1
