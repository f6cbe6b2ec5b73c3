"""Sockets and TLS trust for Probar: open TCP to resolved addresses, build SSL contexts, explain
certificate failures (expired, self-signed, wrong host…) with the fingerprint to pin.

Socket and ``ssl`` errors are translated into taxonomy codes here; ``prefix`` is ``""`` for
SMTP and ``"imap_"`` for IMAP, so the same failure gets the protocol's own code and hint.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import hashlib
import os
import socket
import ssl
from typing import Any

from fluenzr.core.endpoints import Endpoint
from fluenzr.diagnose.taxonomy import mail_error
from fluenzr.errors import MailError, ValidationError

# OpenSSL X509_V_ERR_* codes (x509_vfy.h) → catalogue variants of certificate_invalid.
_VERIFY_VARIANTS = {
    9: "not_yet_valid",
    10: "expired",
    18: "self_signed",  # DEPTH_ZERO_SELF_SIGNED_CERT
    19: "self_signed",  # SELF_SIGNED_CERT_IN_CHAIN
    20: "unknown_ca",  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "unknown_ca",  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    62: "wrong_host",  # HOSTNAME_MISMATCH
    64: "wrong_host",  # IP_ADDRESS_MISMATCH
}
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


def fingerprint(der: bytes) -> str:
    """SHA-256 of the DER certificate: 64 lowercase hex digits (the form accounts pin)."""
    return hashlib.sha256(der).hexdigest()


def client_context(endpoint: Endpoint) -> ssl.SSLContext:
    """System store plus the account's CA file; with a pin, the pin alone decides (checked after
    the handshake by :func:`check_pin`), so a self-signed bridge certificate can be trusted.

    Contexts are cached: loading the system store costs ~0.1 s, more than the rest of a test.
    A changed CA file (new mtime) gets a fresh context. An unreadable one is bad input.
    """
    ca_file = endpoint.tls.ca_file
    try:
        stamp = os.stat(ca_file).st_mtime_ns if ca_file else None
        return _context(ca_file, stamp, pinned=bool(endpoint.tls.pin_sha256))
    except (OSError, ssl.SSLError) as exc:
        raise ValidationError(
            "ca_file_invalid", params={"field": "ca_file", "value": ca_file}, detail=str(exc)
        ) from None


@functools.lru_cache(maxsize=32)
def _context(ca_file: str | None, stamp: int | None, *, pinned: bool) -> ssl.SSLContext:
    if pinned:
        return unverified_context()
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def unverified_context() -> ssl.SSLContext:
    """For a pinned certificate (checked after the handshake), or to read a certificate we
    already refused so its fingerprint can be shown. No CA store is loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def check_pin(endpoint: Endpoint, der: bytes | None, *, prefix: str = "") -> str:
    """How the certificate was trusted (a detail line); a pin mismatch raises."""
    seen = fingerprint(der) if der else ""
    if not endpoint.tls.pin_sha256:
        return "CA file" if endpoint.tls.ca_file else "system"
    if seen != endpoint.tls.pin_sha256:
        raise certificate_error(endpoint, variant="pin_mismatch", der=der, prefix=prefix)
    return "pinned SHA-256"


def certificate_error(
    endpoint: Endpoint,
    *,
    variant: str | None,
    der: bytes | None,
    prefix: str = "",
    detail: str | None = None,
) -> MailError:
    params: dict[str, Any] = {"host": endpoint.host, "port": endpoint.port}
    params["fingerprint"] = fingerprint(der) if der else "?"
    if variant:
        params["reason"] = variant
    code = f"{prefix}certificate_invalid"
    return mail_error(code, params=params, detail=detail, variant=variant)


def verify_variant(exc: ssl.SSLCertVerificationError) -> str | None:
    return _VERIFY_VARIANTS.get(exc.verify_code)


def tls_error(endpoint: Endpoint, exc: ssl.SSLError, *, prefix: str, expected: str) -> MailError:
    """A handshake that failed for a reason other than the certificate.

    "wrong version number" / "record layer failure" is what OpenSSL says when the other side does
    not speak TLS at all: plain text on a port we treated as implicit TLS.
    """
    text = f"{exc.reason or ''} {exc}".lower()
    if "wrong version number" in text or "record layer" in text or "packet length" in text:
        params = {"host": endpoint.host, "port": endpoint.port, "suggested": expected}
        return mail_error(f"{prefix}tls_mode_mismatch", params=params, detail=str(exc))
    return mail_error(f"{prefix}tls_failed", params={"host": endpoint.host}, detail=str(exc))


def socket_error(endpoint: Endpoint, exc: OSError, *, prefix: str) -> MailError:
    params = {"host": endpoint.host, "port": endpoint.port}
    detail = exc.strerror or type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        return mail_error(f"{prefix}connection_refused", params=params, detail=detail)
    if isinstance(exc, TimeoutError):
        return mail_error(f"{prefix}timeout", params=params, detail="connect")
    if exc.errno in _UNREACHABLE:
        return mail_error(f"{prefix}host_unreachable", params=params, detail=detail)
    if isinstance(exc, ConnectionError):
        return mail_error(f"{prefix}server_disconnected", params=params, detail=detail)
    return mail_error(f"{prefix}host_unreachable", params=params, detail=detail)


async def _connect_one(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def open_tcp(
    endpoint: Endpoint, addresses: list[str], *, seconds: float, prefix: str = ""
) -> tuple[socket.socket, str]:
    """A connected socket to the first address that accepts, within ``seconds`` in all."""
    last: OSError = ConnectionRefusedError(errno.ECONNREFUSED, "no address")
    try:
        async with asyncio.timeout(seconds):
            for address in addresses:
                try:
                    return await _connect_one(address, endpoint.port), address
                except OSError as exc:
                    last = exc
    except TimeoutError:
        last = TimeoutError()
    raise socket_error(endpoint, last, prefix=prefix)
