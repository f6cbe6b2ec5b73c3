"""Probar against in-process servers on 127.0.0.1 (tests/support/fault_smtp.py: aiosmtpd with
faults chosen per test, raw asyncio servers for what no real server does on demand): every fault,
end to end through the real step code.

Each failure is asserted by code, category, the failing step, and a hint in es, en and fr.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from fluenzr.core.egress import EgressPolicy
from fluenzr.core.endpoints import Endpoint, MailboxCredentials, Security, TlsPolicy
from fluenzr.core.secret import Secret
from fluenzr.diagnose.greeting_probe import GreetingProbe
from fluenzr.diagnose.probar import ProbarSeams, probe_mailbox
from fluenzr.diagnose.report import ProbarReport
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.diagnose.runner import Status
from fluenzr.i18n import LANGUAGES
from tests.support.certs import PKI, pki, self_signed
from tests.support.dns_server import LocalDns
from tests.support.fault_smtp import (
    PASSWORD,
    USER,
    SmtpFaults,
    closed_port,
    raw_server,
    smtp_server,
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def credentials(smtp: Endpoint, imap: Endpoint | None = None) -> MailboxCredentials:
    return MailboxCredentials(1, 1, USER, "Ana", smtp, imap)


def seams(lookup: DnsLookup | None = None, **overrides: Any) -> ProbarSeams:
    lookup = lookup or DnsLookup()
    options: dict[str, Any] = {
        "smtp_timeout": 1.5,
        "imap_timeout": 1.5,
        "test_mail_wait": 1.0,
        "mismatch_after": 0.3,
        "standard_ports": (),
    }
    options.update(overrides)
    return ProbarSeams(lookup=lookup, probe=GreetingProbe(lookup=lookup, timeout=0.5), **options)


async def probar(smtp: Endpoint, **overrides: Any) -> ProbarReport:
    lookup = overrides.pop("lookup", None)
    send = overrides.pop("send", True)
    imap = overrides.pop("imap", None)
    creds = credentials(smtp, imap)
    return await probe_mailbox(creds, send=send, seams=seams(lookup, **overrides), now=now)


def assert_failure(report: ProbarReport, code: str, category: str, step: str) -> dict[str, Any]:
    assert not report.ok
    error = report.to_dict()["error"]
    assert (error["code"], error["category"], error["step"]) == (code, category, step), error
    assert report.error is not None
    for lang in LANGUAGES:
        hint = report.error.hint(lang)
        assert hint and not hint.startswith("error."), (lang, hint)
    names = [s.name for s in report.steps]
    after = names[names.index(step) + 1 :]
    assert all(s.status is Status.SKIPPED for s in report.steps if s.name in after)
    assert PASSWORD not in str(report.to_dict())
    return error


async def test_happy_path_over_starttls_with_ca() -> None:
    async with smtp_server() as server:
        seen: list[str] = []
        report = await probe_mailbox(
            credentials(server.endpoint(Security.STARTTLS)),
            send=True,
            seams=seams(),
            now=now,
            on_step=lambda step: seen.append(step.name),
        )
    assert report.ok, report.to_dict()
    assert seen == ["dns", "tcp", "tls", "ehlo", "auth", "send"]
    assert "account CA" in report.steps[2].detail
    assert "AUTH" in report.steps[3].detail
    assert report.steps[4].detail.startswith("PLAIN")
    [received] = server.received
    assert received.recipients == [USER]
    assert report.message_id is not None
    assert report.message_id.endswith("@fault.test>")
    assert report.message_id.encode() in received.content


async def test_dns_not_found_for_reserved_invalid_name() -> None:
    endpoint = Endpoint("smtp.nowhere.invalid", 587, Security.STARTTLS, USER, Secret(PASSWORD))
    report = await probar(endpoint)
    assert_failure(report, "dns_not_found", "dns", "dns")


async def test_dns_not_found_through_local_dns_server() -> None:
    endpoint = Endpoint("smtp.example.test", 587, Security.STARTTLS, USER, Secret(PASSWORD))
    with LocalDns({"example.test": {"MX": ["10 mx.example.test."]}}) as dns:
        lookup = DnsLookup(dns.resolver(timeout=1.0), timeout=1.0)
        report = await probar(endpoint, lookup=lookup)
    error = assert_failure(report, "dns_not_found", "dns", "dns")
    assert "smtp.example.test" in error["message"]


async def test_name_resolved_through_local_dns_then_port_refused() -> None:
    port = await closed_port()
    endpoint = Endpoint("smtp.example.test", port, Security.STARTTLS, USER, Secret(PASSWORD))
    with LocalDns({"smtp.example.test": {"A": ["127.0.0.1"]}}) as dns:
        lookup = DnsLookup(dns.resolver(timeout=1.0), timeout=1.0)
        report = await probar(endpoint, lookup=lookup)
    assert report.steps[0].status is Status.OK
    assert report.steps[0].detail == "127.0.0.1"
    assert_failure(report, "connection_refused", "connection", "tcp")


async def test_connection_refused_suggests_a_port_that_answers() -> None:
    refused, other_closed = await closed_port(), await closed_port()
    async with smtp_server() as other:
        endpoint = replace(other.endpoint(Security.STARTTLS), port=refused)
        standard = (
            (refused, Security.STARTTLS),
            (other.port, Security.STARTTLS),
            (other_closed, Security.SSL),
        )
        report = await probar(endpoint, standard_ports=standard)
    error = assert_failure(report, "connection_refused", "connection", "tcp")
    assert error["suggestion"]["port"] == other.port
    assert f"{other.port}" in error["hint"]
    assert f"{refused}" in error["hint"]


async def test_connection_refused_without_answering_alternative_suggests_nothing() -> None:
    port, other = await closed_port(), await closed_port()
    endpoint = Endpoint("127.0.0.1", port, Security.STARTTLS, USER, Secret(PASSWORD))
    report = await probar(endpoint, standard_ports=((other, Security.SSL),))
    error = assert_failure(report, "connection_refused", "connection", "tcp")
    assert "suggestion" not in error


async def test_timeout_on_a_silent_port_is_bounded() -> None:
    async with raw_server({"greeting": "stall"}) as server:
        started = asyncio.get_running_loop().time()
        report = await probar(server.endpoint(Security.STARTTLS), smtp_timeout=1.0)
        elapsed = asyncio.get_running_loop().time() - started
    assert_failure(report, "timeout", "timeout", "tls")
    # Patience + one TLS probe at the 1 s asked for, below the 10 s default even on a loaded
    # machine.
    assert elapsed < 8.0


async def test_tls_mode_mismatch_ssl_on_a_starttls_port() -> None:
    async with smtp_server() as server:
        report = await probar(server.endpoint(Security.SSL))
    error = assert_failure(report, "tls_mode_mismatch", "tls", "tls")
    assert "TLS" in error["message"]
    assert error["suggestion"]["port"] == server.port
    assert error["suggestion"]["security"] == "starttls"


async def test_tls_mode_mismatch_starttls_on_an_implicit_tls_port() -> None:
    async with smtp_server(SmtpFaults(implicit_tls=True)) as server:
        report = await probar(server.endpoint(Security.STARTTLS), smtp_timeout=60.0)
    error = assert_failure(report, "tls_mode_mismatch", "tls", "tls")
    assert "SSL" in error["message"]
    # Found by probing, not by waiting out the 60 s timeout.
    assert report.steps[2].duration_ms < 20_000


@pytest.mark.parametrize(
    ("variant", "words"),
    [("expired", "expirado"), ("wrong_host", "no corresponde"), ("unknown_ca", "desconocida")],
)
async def test_certificate_invalid_says_why_and_shows_fingerprint(variant: str, words: str) -> None:
    cert = {
        "expired": pki().expired,
        "wrong_host": pki().wrong_host,
        "unknown_ca": lambda: PKI().leaf(),
    }[variant]()
    async with smtp_server(SmtpFaults(cert=cert)) as server:
        report = await probar(server.endpoint(Security.STARTTLS))
    error = assert_failure(report, "certificate_invalid", "certificate", "tls")
    assert error["fingerprint"] == cert.fingerprint
    assert error["params"]["reason"] == variant
    assert report.error is not None
    assert words in report.error.message("es")
    assert cert.fingerprint in report.error.hint("en")
    assert not server.saw_in_plaintext(PASSWORD)
    assert server.auth == []


async def test_bridge_like_self_signed_starttls_fails_unpinned_and_passes_pinned() -> None:
    cert = self_signed()
    async with smtp_server(SmtpFaults(cert=cert)) as server:
        report = await probar(server.endpoint(Security.STARTTLS, tls=TlsPolicy()))
        error = assert_failure(report, "certificate_invalid", "certificate", "tls")
        assert error["params"]["reason"] == "self_signed"
        assert error["fingerprint"] == cert.fingerprint
        assert server.auth == []

        pinned = TlsPolicy(pin_sha256=cert.fingerprint)
        report = await probar(server.endpoint(Security.STARTTLS, tls=pinned))
        assert report.ok, report.to_dict()
        assert "pinned" in report.steps[2].detail
        assert len(server.received) == 1

        wrong = TlsPolicy(pin_sha256="0" * 64)
        report = await probar(server.endpoint(Security.STARTTLS, tls=wrong))
        error = assert_failure(report, "certificate_invalid", "certificate", "tls")
        assert error["params"]["reason"] == "pin_mismatch"
        assert len(server.auth) == 1  # only the pinned run logged in


async def test_starttls_unavailable_and_password_never_sent_in_clear() -> None:
    faults = SmtpFaults(starttls=False, auth_before_tls=True)  # offers AUTH in clear
    async with smtp_server(faults) as server:
        report = await probar(server.endpoint(Security.STARTTLS))
    assert_failure(report, "starttls_unavailable", "tls", "tls")
    assert server.connections >= 1
    assert server.auth == []
    assert not server.saw_in_plaintext(PASSWORD)


async def test_auth_failed() -> None:
    async with smtp_server() as server:
        report = await probar(server.endpoint(Security.STARTTLS, password="wrong"))
    error = assert_failure(report, "auth_failed", "auth", "auth")
    assert error["reply_code"] == 535


async def test_auth_mechanism_unsupported() -> None:
    async with raw_server({"ehlo": "AUTH XOAUTH2 GSSAPI"}) as server:
        report = await probar(server.endpoint(Security.NONE))
    error = assert_failure(report, "auth_mechanism_unsupported", "auth", "auth")
    assert "XOAUTH2" in error["message"]
    assert b"AUTH" not in bytes(server.received)


@pytest.mark.parametrize(
    ("faults", "code", "category"),
    [
        (
            SmtpFaults(mail="553 5.7.1 Sender address rejected: not owned by user"),
            "sender_rejected",
            "sender",
        ),
        (
            SmtpFaults(rcpt={USER: "550 5.1.1 <ana@fault.test>: Recipient address rejected"}),
            "recipient_rejected",
            "recipient",
        ),
        (
            SmtpFaults(mail="451 4.7.1 Error: too much mail from 127.0.0.1"),
            "sending_limit",
            "sending_limit",
        ),
        (SmtpFaults(message="554 5.7.1 Message rejected as spam"), "message_rejected", "message"),
    ],
    ids=["sender", "recipient", "limit", "message"],
)
async def test_envelope_and_message_replies(faults: SmtpFaults, code: str, category: str) -> None:
    async with smtp_server(faults) as server:
        report = await probar(server.endpoint(Security.STARTTLS))
    error = assert_failure(report, code, category, "send")
    assert error["reply_code"] >= 400
    assert not report.sent


@pytest.fixture
async def imap_without_sent() -> AsyncIterator[int]:
    """A tiny IMAP server (cleartext, loopback) whose mailbox has no Sent folder at all."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK [CAPABILITY IMAP4rev1 LOGIN] fault IMAP ready\r\n")
        while line := await reader.readline():
            tag, _, rest = line.decode().strip().partition(" ")
            verb = rest.split(" ", 1)[0].upper()
            if verb == "CAPABILITY":
                writer.write(b"* CAPABILITY IMAP4rev1 LOGIN\r\n")
            elif verb == "LIST":
                writer.write(b'* LIST (\\HasNoChildren) "/" INBOX\r\n')
                writer.write(b'* LIST (\\HasNoChildren) "/" Archive\r\n')
            elif verb == "LOGOUT":
                writer.write(b"* BYE bye\r\n")
            writer.write(f"{tag} OK {verb} done\r\n".encode())
            await writer.drain()
            if verb == "LOGOUT":
                break
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def test_sent_folder_not_found_is_a_warning(imap_without_sent: int) -> None:
    imap = Endpoint("127.0.0.1", imap_without_sent, Security.NONE, USER, Secret(PASSWORD))
    async with smtp_server() as server:
        report = await probar(server.endpoint(Security.STARTTLS), imap=imap, send=False)
    assert report.ok, report.to_dict()
    last = report.steps[-1]
    assert (last.name, last.status, last.code) == (
        "imap_sent",
        Status.WARNING,
        "sent_folder_not_found",
    )
    data = report.to_dict()
    assert data["warnings"][0]["code"] == "sent_folder_not_found"
    assert "error" not in data
    assert report.steps[-2].status is Status.SKIPPED  # no test email with --no-send


async def test_multi_tenant_probar_refuses_a_loopback_server_at_the_tcp_step() -> None:
    async with smtp_server() as server:
        endpoint = replace(server.endpoint(), egress=EgressPolicy.MULTI_TENANT)
        report = await probar(endpoint)
        assert server.connections == 0
    assert_failure(report, "egress_refused", "connection", "tcp")
