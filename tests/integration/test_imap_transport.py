"""IMAP transport against the in-process fault server and the real Dovecot (no mocks)."""

from __future__ import annotations

import asyncio
import ssl
import time

import pytest

from fluenzr.core.endpoints import Endpoint, Security, TlsPolicy
from fluenzr.core.secret import Secret
from fluenzr.error_codes import Scope
from fluenzr.errors import MailError
from fluenzr.i18n import LANGUAGES
from fluenzr.mail import tls
from fluenzr.mail._imap_text import decode_mailbox, encode_mailbox, parse_fetch
from fluenzr.mail.imap import ImapSession, connect_imap
from tests.support import mailservers as ms
from tests.support.certs import self_signed
from tests.support.fault_imap import PASSWORD, USER, ImapFaults, imap_server
from tests.support.fault_smtp import closed_port, raw_server


def assert_error(error: MailError, code: str, category: str) -> None:
    assert error.code == code
    assert error.category == category
    assert error.scope is Scope.IMAP  # one code for both transports; the error says which
    for lang in LANGUAGES:
        assert error.message(lang)
        assert "{" not in error.message(lang)
        assert "{" not in error.hint(lang)


# -- fault server --------------------------------------------------------------------------------


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "ssl"])
async def test_login_over_tls(implicit: bool) -> None:
    async with (
        imap_server(ImapFaults(implicit_tls=implicit)) as server,
        await connect_imap(server.endpoint(), timeout=5) as imap,
    ):
        assert imap.secure_transport
        assert "IDLE" in imap.capabilities
    assert server.logins == [(USER, True)]
    assert not server.saw_in_plaintext(PASSWORD)


async def test_no_starttls_means_no_login() -> None:
    async with imap_server(ImapFaults(starttls=False)) as server:
        with pytest.raises(MailError) as caught:
            await connect_imap(server.endpoint(Security.STARTTLS), timeout=5)
    assert_error(caught.value, "starttls_unavailable", "tls")
    assert server.logins == []
    assert "LOGIN" not in server.commands
    assert not server.saw_in_plaintext(PASSWORD)


async def test_wrong_password() -> None:
    async with imap_server() as server:
        with pytest.raises(MailError) as caught:
            await connect_imap(server.endpoint(password="nope"), timeout=5)
    assert_error(caught.value, "auth_failed", "auth")
    assert "AUTHENTICATIONFAILED" in (caught.value.detail or "")


async def test_refused() -> None:
    port = await closed_port()
    endpoint = Endpoint("127.0.0.1", port, Security.SSL, USER, Secret(PASSWORD))
    with pytest.raises(MailError) as caught:
        await connect_imap(endpoint, timeout=5)
    assert_error(caught.value, "connection_refused", "connection")


async def test_cleartext_to_a_remote_host_is_refused_before_connecting() -> None:
    endpoint = Endpoint("imap.example.com", 143, Security.NONE, USER, Secret(PASSWORD))
    with pytest.raises(MailError) as caught:
        await connect_imap(endpoint, timeout=5)
    assert_error(caught.value, "cleartext_not_allowed", "tls")


async def test_stall_times_out_in_bounded_time() -> None:
    async with raw_server({"greeting": "stall"}) as server:
        started = time.monotonic()
        with pytest.raises(MailError) as caught:
            await connect_imap(server.endpoint(Security.STARTTLS), timeout=1)
    assert_error(caught.value, "timeout", "timeout")
    # Bounded by the 1 s asked for, not the 10 s default; the margin absorbs a loaded machine.
    assert time.monotonic() - started < 8


async def test_bye_greeting_is_reported_at_once() -> None:
    faults = ImapFaults(greeting="* BYE Too many connections from your IP")
    async with imap_server(faults) as server:
        started = time.monotonic()
        with pytest.raises(MailError) as caught:
            await connect_imap(server.endpoint(), timeout=60)
    assert_error(caught.value, "server_disconnected", "connection")
    assert "Too many connections" in (caught.value.detail or "")
    assert time.monotonic() - started < 20  # reported at once, not the 60 s timeout waited out


async def test_silent_command_is_a_bounded_timeout() -> None:
    async with imap_server(ImapFaults(stall_on="LIST")) as server:
        imap = await connect_imap(server.endpoint(), timeout=1)
        started = time.monotonic()
        with pytest.raises(MailError) as caught:
            await imap.list_folders()
        await imap.aclose()
    assert_error(caught.value, "timeout", "timeout")
    # Bounded by the 1 s asked for, not the 10 s default; the margin absorbs a loaded machine.
    assert time.monotonic() - started < 8


async def test_drop_after_login_is_a_disconnect() -> None:
    async with imap_server(ImapFaults(drop_on="LIST")) as server:
        imap = await connect_imap(server.endpoint(), timeout=5)
        with pytest.raises(MailError) as caught:
            await imap.list_folders()
        imap.close()
    assert caught.value.code in {"server_disconnected", "timeout"}
    assert caught.value.code == "server_disconnected"


@pytest.mark.parametrize(
    ("implicit", "security", "suggested"),
    [(True, Security.STARTTLS, "SSL"), (False, Security.SSL, "TLS")],
)
async def test_tls_mode_mismatch(implicit: bool, security: Security, suggested: str) -> None:
    async with imap_server(ImapFaults(implicit_tls=implicit)) as server:
        with pytest.raises(MailError) as caught:
            await connect_imap(server.endpoint(security), timeout=10)
    assert_error(caught.value, "tls_mode_mismatch", "tls")
    assert caught.value.params["suggested"] == suggested
    assert server.logins == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # see fault_imap
@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "ssl"])
async def test_bridge_like_pinned_and_unpinned(implicit: bool) -> None:
    cert = self_signed()
    async with imap_server(ImapFaults(cert=cert, implicit_tls=implicit)) as server:
        pinned = TlsPolicy(pin_sha256=cert.fingerprint)
        async with await connect_imap(server.endpoint(tls=pinned), timeout=5) as imap:
            assert imap.certificate is not None
        with pytest.raises(MailError) as caught:
            await connect_imap(server.endpoint(), timeout=5)
        with pytest.raises(MailError) as wrong_pin:
            await connect_imap(server.endpoint(tls=TlsPolicy(pin_sha256="1" * 64)), timeout=5)
    assert_error(caught.value, "certificate_invalid", "certificate")
    assert caught.value.params["reason"] == "self_signed"
    assert caught.value.params["fingerprint"] == cert.fingerprint
    assert wrong_pin.value.params["reason"] == "pin_mismatch"
    assert server.logins == [(USER, True)]  # only the pinned session logged in


async def test_sent_folder_fallback_names() -> None:
    folders = (
        '(\\HasNoChildren) "/" INBOX',
        f'(\\HasNoChildren) "/" "{encode_mailbox("Éléments envoyés")}"',
    )
    async with (
        imap_server(ImapFaults(folders=folders)) as server,
        await connect_imap(server.endpoint(), timeout=5) as imap,
    ):
        sent = await imap.find_sent_folder()
    assert sent is not None
    assert sent.name == "Éléments envoyés"
    assert sent.raw == "&AMk-l&AOk-ments envoy&AOk-s"


def test_modified_utf7_round_trip() -> None:
    for name in ["Enviados", "Éléments envoyés", "Tom & Jerry", "送信済み"]:
        assert decode_mailbox(encode_mailbox(name)) == name


def test_parse_fetch_reads_uid_flags_and_literal() -> None:
    lines = [
        b"1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {5}",
        bytearray(b"hello"),
        b")",
        b"2 FETCH (FLAGS () UID 9 BODY[] {3}",
        bytearray(b"abc"),
        b")",
        b"Fetch completed.",
    ]
    assert parse_fetch(lines) == [(7, frozenset({"\\Seen"}), b"hello"), (9, frozenset(), b"abc")]


# -- the real Dovecot ------------------------------------------------------------------------------


@pytest.mark.mailserver
@pytest.mark.parametrize(
    ("port", "security"), [(ms.IMAPS_PORT, Security.SSL), (ms.IMAP_PORT, Security.STARTTLS)]
)
async def test_dovecot_find_and_fetch_without_seen(
    mailserver: None, port: int, security: Security
) -> None:
    user = ms.create_user("imap")
    message_id = f"<find-{port}@{ms.DOMAIN}>"
    await ms.deliver(user.email, ms.make_message(to=user.email, message_id=message_id))
    assert ms.wait_for_message(user, message_id=message_id) is not None
    endpoint = user.imap_endpoint(port=port, security=security)
    async with await connect_imap(endpoint, timeout=10) as imap:
        status = await imap.select("INBOX")
        assert status.exists == 1
        assert status.read_only
        uids = await imap.search_message_id(message_id)
        (fetched,) = await imap.fetch(uids)
        assert message_id.encode() in fetched.data
        assert await imap.search_message_id(f"<absent@{ms.DOMAIN}>") == []
    assert "\\Seen" not in ms.list_messages(user)[0].flags


@pytest.mark.mailserver
async def test_dovecot_sent_folder_and_append_seen(mailserver: None) -> None:
    user = ms.create_user("imap")
    async with await connect_imap(user.imap_endpoint(), timeout=10) as imap:
        sent = await imap.find_sent_folder()
        assert sent is not None
        assert sent.name == "Sent"
        assert "\\Sent" in sent.flags
        uid = await imap.append(ms.make_message(to=user.email, subject="copy"), folder=sent)
        assert uid == 1
    (stored,) = ms.list_messages(user, "Sent")
    assert "\\Seen" in stored.flags


@pytest.mark.mailserver
async def test_dovecot_idle_sees_new_mail(mailserver: None) -> None:
    user = ms.create_user("imap")
    async with await connect_imap(user.imap_endpoint(), timeout=10) as imap:
        await imap.select("INBOX")
        await imap.idle_start()
        assert await imap.idle_wait(timeout=0.2) == []
        await ms.deliver(user.email, ms.make_message(to=user.email, subject="push"))
        pushed = await imap.idle_wait(timeout=5)
        await imap.idle_stop()
        assert any(line.endswith(b"EXISTS") for line in pushed)
        # The session is usable again after IDLE.
        assert len(await imap.uid_search("ALL")) == 1


@pytest.mark.mailserver
async def test_dovecot_wrong_password_is_fast(mailserver: None) -> None:
    user = ms.create_user("imap")
    endpoint = user.imap_endpoint()
    wrong = Endpoint(
        endpoint.host, endpoint.port, endpoint.security, user.email, Secret("x"), endpoint.tls
    )
    started = time.monotonic()
    with pytest.raises(MailError) as caught:
        await connect_imap(wrong, timeout=60)
    assert_error(caught.value, "auth_failed", "auth")
    # The NO reply is the answer: no retry, no waiting out the 60 s timeout (the test Dovecot
    # has auth_failure_delay = 0).
    assert time.monotonic() - started < 20


@pytest.mark.mailserver
async def test_dovecot_unknown_folder(mailserver: None) -> None:
    user = ms.create_user("imap")
    session = ImapSession(user.imap_endpoint(), timeout=10)
    await session.open()
    await session.login()
    with pytest.raises(MailError) as caught:
        await session.select("Nope")
    await session.logout()
    assert_error(caught.value, "imap_folder_not_found", "imap")
    assert "Nope" in caught.value.message("en")


@pytest.mark.mailserver
@pytest.mark.parametrize(
    ("port", "security", "suggested"),
    [(ms.IMAP_PORT, Security.SSL, "TLS"), (ms.IMAPS_PORT, Security.STARTTLS, "SSL")],
)
async def test_dovecot_tls_mode_mismatch(
    mailserver: None, port: int, security: Security, suggested: str
) -> None:
    user = ms.create_user("imap")
    with pytest.raises(MailError) as caught:
        await connect_imap(user.imap_endpoint(port=port, security=security), timeout=10)
    assert_error(caught.value, "tls_mode_mismatch", "tls")
    assert caught.value.params["suggested"] == suggested


async def test_many_sessions_in_parallel_fault_server() -> None:
    async with imap_server() as server:
        sessions = await asyncio.gather(
            *[connect_imap(server.endpoint(), timeout=10) for _ in range(20)]
        )
        for session in sessions:
            await session.logout()
    assert len(server.logins) == 20


@pytest.mark.mailserver
async def test_dovecot_as_a_remote_client_sees_it(mailserver: None) -> None:
    # Reached on 127.0.0.2, Dovecot treats us like a remote client: LOGINDISABLED before TLS.
    user = ms.create_user("imap")
    with open(ms.SERVER_CERT_FILE) as handle:  # noqa: ASYNC230 - a small local file
        pin = tls.fingerprint(ssl.PEM_cert_to_DER_cert(handle.read()))
    base = user.imap_endpoint(port=ms.IMAP_PORT, security=Security.STARTTLS)
    remote = Endpoint("127.0.0.2", base.port, base.security, user.email, user.secret)
    pinned = Endpoint(**{**remote.__dict__, "tls": TlsPolicy(pin_sha256=pin)})
    cleartext = Endpoint(**{**remote.__dict__, "security": Security.NONE})

    session = ImapSession(cleartext, timeout=10)
    assert "LOGINDISABLED" in await session.open()
    with pytest.raises(MailError) as caught:
        await session.login()  # refused by us, before any password is sent
    await session.logout()
    assert_error(caught.value, "starttls_unavailable", "tls")

    async with await connect_imap(pinned, timeout=10) as imap:
        assert imap.secure_transport
        assert "LOGINDISABLED" not in imap.capabilities
        assert (await imap.select("INBOX")).exists == 0
