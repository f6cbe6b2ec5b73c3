"""Probar against in-process servers on 127.0.0.1: every fault a real server will not produce on
demand, end to end through the real step code (aiosmtpd is a real SMTP server; certificates come
from trustme or are self-signed with cryptography).

Each failure is asserted by code, category, the failing step, and a hint in es, en and fr.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fluenzr.core.endpoints import Endpoint, MailboxCredentials, Security, TlsPolicy
from fluenzr.core.secret import Secret
from fluenzr.diagnose.probar import ProbarSeams, probe_mailbox
from fluenzr.diagnose.probe import GreetingProbe
from fluenzr.diagnose.report import ProbarReport
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.diagnose.runner import Status
from fluenzr.i18n import LANGUAGES, has_message
from tests.support.dns_server import LocalDns

EMAIL = "ana@example.test"
PASSWORD = "s3cret-Pa55word"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- an in-process SMTP server ---------------------------------------------------------------


@dataclass
class Handler:
    mail_reply: str | None = None
    rcpt_reply: str | None = None
    data_reply: str | None = None
    received: list[Envelope] = field(default_factory=list)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        self.received.append(envelope)
        return "250 2.0.0 Ok: queued as PROBAR1"


class Recording(SMTP):
    """aiosmtpd's server, keeping every byte it received (to prove what was never sent)."""

    wire: bytearray

    def data_received(self, data: bytes) -> None:
        self.wire += data
        super().data_received(data)


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@dataclass
class Running:
    port: int
    handler: Handler
    wire: bytearray


@pytest.fixture
async def smtp_server() -> AsyncIterator[Callable[..., Any]]:
    servers: list[asyncio.Server] = []

    async def start(
        *,
        handler: Handler | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit: ssl.SSLContext | None = None,
        **options: Any,
    ) -> Running:
        handler = handler or Handler()
        wire = bytearray()

        def factory() -> SMTP:
            server = Recording(
                handler,
                tls_context=starttls,
                authenticator=authenticator,
                hostname="probar.test",
                **options,
            )
            server.wire = wire
            return server

        server = await asyncio.get_running_loop().create_server(
            factory, "127.0.0.1", 0, ssl=implicit
        )
        servers.append(server)
        return Running(server.sockets[0].getsockname()[1], handler, wire)

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """Accepts TCP and never says a word (a blackholed port)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- certificates ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


def self_signed(tmp_path: Any) -> tuple[ssl.SSLContext, str]:
    """A bare self-signed certificate for 127.0.0.1, like ProtonMail Bridge's; its SHA-256."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = now() - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "bridge.crt", tmp_path / "bridge.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    der = cert.public_bytes(serialization.Encoding.DER)
    return context, hashlib.sha256(der).hexdigest()


# -- running Probar --------------------------------------------------------------------------


def credentials(
    port: int,
    security: Security,
    *,
    host: str = "127.0.0.1",
    password: str = PASSWORD,
    tls: TlsPolicy | None = None,
) -> MailboxCredentials:
    smtp = Endpoint(host, port, security, EMAIL, Secret(password), tls or TlsPolicy())
    return MailboxCredentials(1, 1, EMAIL, "Ana", smtp, None)


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


async def probar(creds: MailboxCredentials, **overrides: Any) -> ProbarReport:
    lookup = overrides.pop("lookup", None)
    send = overrides.pop("send", True)
    return await probe_mailbox(creds, send=send, seams=seams(lookup, **overrides), now=now)


def assert_failure(report: ProbarReport, code: str, category: str, step: str) -> dict[str, Any]:
    assert not report.ok
    error = report.to_dict()["error"]
    assert (error["code"], error["category"], error["step"]) == (code, category, step), error
    for lang in LANGUAGES:
        assert has_message(f"error.{code}.hint", lang)
        assert report.error is not None
        assert report.error.hint(lang) and report.error.hint(lang) != f"error.{code}.hint"
    names = [s.name for s in report.steps]
    after = names[names.index(step) + 1 :]
    assert all(s.status is Status.SKIPPED for s in report.steps if s.name in after)
    assert PASSWORD not in str(report.to_dict())
    return error


# -- the tests -------------------------------------------------------------------------------


async def test_happy_path_over_starttls_with_ca(
    smtp_server: Any, ca: trustme.CA, tmp_path: Any
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = await smtp_server(starttls=server_context(ca.issue_cert("127.0.0.1")))
    seen: list[str] = []
    creds = credentials(server.port, Security.STARTTLS, tls=TlsPolicy(ca_file=str(ca_file)))
    report = await probe_mailbox(
        creds, send=True, seams=seams(), now=now, on_step=lambda s: seen.append(s.name)
    )
    assert report.ok, report.to_dict()
    assert seen == ["dns", "tcp", "tls", "ehlo", "auth", "send"]
    assert "CA file" in report.steps[2].detail
    assert "AUTH" in report.steps[3].detail
    assert report.steps[4].detail.startswith("PLAIN")
    [envelope] = server.handler.received
    assert envelope.rcpt_tos == [EMAIL]
    assert report.message_id is not None
    assert report.message_id.endswith("@example.test>")
    assert report.message_id.encode() in envelope.content


async def test_dns_not_found_for_reserved_invalid_name() -> None:
    report = await probar(credentials(587, Security.STARTTLS, host="smtp.nowhere.invalid"))
    assert_failure(report, "dns_not_found", "dns", "dns")


async def test_dns_not_found_through_local_dns_server() -> None:
    with LocalDns({"example.test": {"MX": ["10 mx.example.test."]}}) as dns:
        lookup = DnsLookup(dns.resolver(timeout=1.0), timeout=1.0)
        report = await probar(
            credentials(587, Security.STARTTLS, host="smtp.example.test"), lookup=lookup
        )
    error = assert_failure(report, "dns_not_found", "dns", "dns")
    assert "smtp.example.test" in error["message"]


async def test_name_resolved_through_local_dns(
    smtp_server: Any, ca: trustme.CA, tmp_path: Any
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = await smtp_server(starttls=server_context(ca.issue_cert("smtp.example.test")))
    with LocalDns({"smtp.example.test": {"A": ["127.0.0.1"]}}) as dns:
        lookup = DnsLookup(dns.resolver(timeout=1.0), timeout=1.0)
        creds = credentials(
            server.port,
            Security.STARTTLS,
            host="smtp.example.test",
            tls=TlsPolicy(ca_file=str(ca_file)),
        )
        report = await probar(creds, lookup=lookup, send=False)
    assert report.ok, report.to_dict()
    assert report.steps[0].detail == "127.0.0.1"
    assert report.steps[-1].status is Status.SKIPPED  # --no-send


async def test_connection_refused_suggests_a_port_that_answers(
    smtp_server: Any, ca: trustme.CA
) -> None:
    other = await smtp_server(starttls=server_context(ca.issue_cert("127.0.0.1")))
    refused = closed_port()
    standard = (
        (refused, Security.STARTTLS),
        (other.port, Security.STARTTLS),
        (closed_port(), Security.SSL),
    )
    report = await probar(credentials(refused, Security.STARTTLS), standard_ports=standard)
    error = assert_failure(report, "connection_refused", "connection", "tcp")
    assert error["suggestion"]["port"] == other.port
    assert f"{other.port}" in error["hint"] and f"{refused}" in error["hint"]


async def test_connection_refused_without_answering_alternative_suggests_nothing() -> None:
    port = closed_port()
    report = await probar(
        credentials(port, Security.STARTTLS), standard_ports=((closed_port(), Security.SSL),)
    )
    error = assert_failure(report, "connection_refused", "connection", "tcp")
    assert "suggestion" not in error


async def test_timeout_on_a_silent_port_is_bounded(silent_port: int) -> None:
    started = asyncio.get_running_loop().time()
    report = await probar(credentials(silent_port, Security.STARTTLS), smtp_timeout=1.0)
    elapsed = asyncio.get_running_loop().time() - started
    assert_failure(report, "timeout", "timeout", "tls")
    assert elapsed < 2.5


async def test_tls_mode_mismatch_ssl_on_a_starttls_port(smtp_server: Any, ca: trustme.CA) -> None:
    server = await smtp_server(starttls=server_context(ca.issue_cert("127.0.0.1")))
    report = await probar(credentials(server.port, Security.SSL))
    error = assert_failure(report, "tls_mode_mismatch", "tls", "tls")
    assert "TLS" in error["message"]
    assert error["suggestion"] == {
        "port": server.port,
        "security": "starttls",
        "duration_ms": error["suggestion"]["duration_ms"],
    }


async def test_tls_mode_mismatch_starttls_on_an_implicit_tls_port(
    smtp_server: Any, ca: trustme.CA, tmp_path: Any
) -> None:
    server = await smtp_server(implicit=server_context(ca.issue_cert("127.0.0.1")))
    report = await probar(credentials(server.port, Security.STARTTLS), smtp_timeout=3.0)
    error = assert_failure(report, "tls_mode_mismatch", "tls", "tls")
    assert "SSL" in error["message"]
    assert report.steps[2].duration_ms < 2500  # found by probing, not by waiting for the timeout


@pytest.mark.parametrize(
    ("variant", "words"),
    [("expired", "expirado"), ("wrong_host", "no corresponde"), ("unknown_ca", "desconocida")],
)
async def test_certificate_invalid_says_why_and_shows_fingerprint(
    smtp_server: Any, ca: trustme.CA, tmp_path: Any, variant: str, words: str
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    past = now() - dt.timedelta(days=10)
    cert = {
        "expired": ca.issue_cert(
            "127.0.0.1", not_before=past, not_after=past + dt.timedelta(days=1)
        ),
        "wrong_host": ca.issue_cert("other.example.test"),
        "unknown_ca": trustme.CA().issue_cert("127.0.0.1"),
    }[variant]
    server = await smtp_server(starttls=server_context(cert))
    creds = credentials(server.port, Security.STARTTLS, tls=TlsPolicy(ca_file=str(ca_file)))
    report = await probar(creds)
    error = assert_failure(report, "certificate_invalid", "certificate", "tls")
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    assert error["fingerprint"] == hashlib.sha256(der).hexdigest()
    assert error["params"]["reason"] == variant
    assert report.error is not None
    assert words in report.error.message("es")
    assert error["fingerprint"] in report.error.hint("en")
    assert PASSWORD.encode() not in server.wire


async def test_bridge_like_self_signed_starttls_fails_unpinned_and_passes_pinned(
    smtp_server: Any, tmp_path: Any
) -> None:
    context, pin = self_signed(tmp_path)
    server = await smtp_server(starttls=context)
    report = await probar(credentials(server.port, Security.STARTTLS))
    error = assert_failure(report, "certificate_invalid", "certificate", "tls")
    assert error["params"]["reason"] == "self_signed"
    assert error["fingerprint"] == pin
    assert PASSWORD.encode() not in server.wire

    pinned = credentials(server.port, Security.STARTTLS, tls=TlsPolicy(pin_sha256=pin))
    report = await probar(pinned)
    assert report.ok, report.to_dict()
    assert "pinned" in report.steps[2].detail
    assert len(server.handler.received) == 1

    wrong_pin = credentials(server.port, Security.STARTTLS, tls=TlsPolicy(pin_sha256="0" * 64))
    report = await probar(wrong_pin)
    error = assert_failure(report, "certificate_invalid", "certificate", "tls")
    assert error["params"]["reason"] == "pin_mismatch"


@pytest.mark.filterwarnings("ignore::UserWarning")  # aiosmtpd warns about AUTH without TLS
async def test_starttls_unavailable_and_password_never_sent_in_clear(smtp_server: Any) -> None:
    server = await smtp_server(auth_require_tls=False)  # offers AUTH PLAIN LOGIN in clear
    report = await probar(credentials(server.port, Security.STARTTLS))
    assert_failure(report, "starttls_unavailable", "tls", "tls")
    assert b"EHLO" in server.wire
    assert b"AUTH" not in server.wire.upper()
    assert PASSWORD.encode() not in server.wire


async def test_auth_failed(smtp_server: Any, tmp_path: Any) -> None:
    context, pin = self_signed(tmp_path)
    server = await smtp_server(starttls=context)
    creds = credentials(
        server.port, Security.STARTTLS, password="wrong", tls=TlsPolicy(pin_sha256=pin)
    )
    report = await probar(creds)
    error = assert_failure(report, "auth_failed", "auth", "auth")
    assert error["reply_code"] == 535


async def test_auth_mechanism_unsupported(smtp_server: Any, tmp_path: Any) -> None:
    context, pin = self_signed(tmp_path)
    server = await smtp_server(starttls=context, auth_exclude_mechanism=["PLAIN", "LOGIN"])
    report = await probar(
        credentials(server.port, Security.STARTTLS, tls=TlsPolicy(pin_sha256=pin))
    )
    assert_failure(report, "auth_mechanism_unsupported", "auth", "auth")


@pytest.mark.parametrize(
    ("handler", "code", "category"),
    [
        (
            Handler(mail_reply="553 5.7.1 Sender address rejected: not owned by user"),
            "sender_rejected",
            "sender",
        ),
        (
            Handler(rcpt_reply="550 5.1.1 <ana@example.test>: Recipient address rejected"),
            "recipient_rejected",
            "recipient",
        ),
        (
            Handler(mail_reply="451 4.7.1 Error: too much mail from 127.0.0.1"),
            "sending_limit",
            "sending_limit",
        ),
        (Handler(data_reply="554 5.7.1 Message rejected as spam"), "message_rejected", "message"),
    ],
    ids=["sender", "recipient", "limit", "message"],
)
async def test_envelope_and_message_replies(
    smtp_server: Any, tmp_path: Any, handler: Handler, code: str, category: str
) -> None:
    context, pin = self_signed(tmp_path)
    server = await smtp_server(handler=handler, starttls=context)
    report = await probar(
        credentials(server.port, Security.STARTTLS, tls=TlsPolicy(pin_sha256=pin))
    )
    error = assert_failure(report, code, category, "send")
    assert error["reply_code"] >= 400
    assert not report.sent
