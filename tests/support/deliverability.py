"""Test material for the deliverability checks: RSA keys, DKIM-signed test mails (dkimpy, the
signing step of the test tier), and zone files for tests.support.zone_server.

Every name lives under ``.test`` (RFC 2606) and every address is loopback: nothing leaves the
machine.
"""

from __future__ import annotations

import base64
import functools
import subprocess
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid

import dkim
from cryptography.hazmat.primitives import serialization

from tests.support.zone_server import txt

RECEIVED_TLS = (
    "from [127.0.0.1] (localhost [127.0.0.1])\r\n\tby mail.good.test (Postfix) with ESMTPSA id "
    "39A2B16C852\r\n\tfor <ana@good.test>; Tue,  1 Dec 2026 23:32:41 +0000 (UTC)"
)
RECEIVED_LMTP = (
    "from mail.good.test\r\n\tby vm with LMTP\r\n\tid 6CYIFhlZD2tabQAAg+zDdQ\r\n\t"
    "for <ana@good.test>; Tue, 01 Dec 2026 23:32:41 +0000"
)


@functools.cache
def rsa_key(bits: int) -> bytes:
    """A PEM RSA private key (openssl: cryptography refuses to make keys under 1024 bits)."""
    out = subprocess.run(
        ["openssl", "genrsa", str(bits)], check=True, capture_output=True, timeout=60
    )
    return out.stdout


def public_b64(private_pem: bytes) -> str:
    key = serialization.load_pem_private_key(private_pem, password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def dkim_record(private_pem: bytes) -> str:
    return f"v=DKIM1; k=rsa; p={public_b64(private_pem)}"


def probar_mail(
    sender: str = "ana@good.test",
    *,
    key: bytes | None = None,
    d: str | None = None,
    selector: str = "s1",
    received: tuple[str, ...] = (RECEIVED_LMTP, RECEIVED_TLS),
    extra: dict[str, str] | None = None,
    sign_headers: tuple[str, ...] = ("from", "to", "subject", "date", "message-id"),
) -> bytes:
    """A Probar-like test mail as the mailbox would hold it: signed by ``key`` (d=``d``) when
    given, with ``received`` trace fields on top (most recent first)."""
    domain = sender.rsplit("@", 1)[1]
    lines = [
        f"From: Ana <{sender}>",
        f"To: {sender}",
        "Subject: FluenzR test",
        f"Date: {format_datetime(datetime(2026, 12, 1, 23, 32, tzinfo=UTC))}",
        f"Message-ID: {make_msgid(domain=domain)}",
        *(f"{k}: {v}" for k, v in (extra or {}).items()),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    body = "\r\n".join(lines).encode() + b"\r\n\r\nHola, esto es una prueba.\r\n"
    if key is not None:
        signature = dkim.sign(
            body,
            selector.encode(),
            (d or domain).encode(),
            key,
            include_headers=[h.encode() for h in sign_headers],
        )
        body = signature.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + body
    trace = b"".join(f"Received: {r}\r\n".encode() for r in received)
    return trace + body


def zone(
    domain: str = "good.test",
    *,
    spf: str | None = "v=spf1 ip4:127.0.0.1 include:_spf.good.test -all",
    dmarc: str | None = "v=DMARC1; p=reject; rua=mailto:dmarc@good.test",
    dkim_keys: dict[str, str] | None = None,
    ptr: str | None = "mail.good.test",
    mail_a: str | None = "127.0.0.1",
    extra: str = "",
) -> str:
    """A zone file for one sending domain (with the PTR of 127.0.0.1 and its forward A)."""
    rows = [
        f"{domain}. 60 IN MX 10 mail.{domain}.",
        f"mail.{domain}. 60 IN A 127.0.0.1",
        f"_spf.{domain}. 60 IN TXT {txt('v=spf1 ip4:192.0.2.0/24 -all')}",
    ]
    if spf is not None:
        rows.append(f"{domain}. 60 IN TXT {txt(spf)}")
    rows.append(f"{domain}. 60 IN TXT {txt('google-site-verification=abc')}")
    if dmarc is not None:
        rows.append(f"_dmarc.{domain}. 60 IN TXT {txt(dmarc)}")
    for selector, record in (dkim_keys or {}).items():
        rows.append(f"{selector}._domainkey.{domain}. 60 IN TXT {txt(record)}")
    if ptr is not None:
        rows.append(f"1.0.0.127.in-addr.arpa. 60 IN PTR {ptr}.")
    if mail_a is not None and ptr is not None and not ptr.startswith("mail."):
        rows.append(f"{ptr}. 60 IN A {mail_a}")
    return "\n".join(rows) + "\n" + extra
