"""TLS for the transports: SSL contexts for a :class:`TlsPolicy`, pinning, and diagnosis.

Two ways to trust a server:

- **verified** (the default): the system store, plus the account's CA certificate (PEM text,
  never a file path) if it has one; the chain and the host name are checked in the handshake.
- **pinned** (``TlsPolicy.pin_sha256``): for servers with their own self-signed certificate (a
  Proton Bridge on 127.0.0.1, a home server). Chain and host checks are off, and the SHA-256 of the
  leaf certificate must equal the pin; transports call :func:`check_pin` right after the
  handshake, before any AUTH, so no password ever reaches an unpinned server.

When verification fails, :func:`verification_reason` says why in a stable word (``expired``,
``not_yet_valid``, ``self_signed``, ``wrong_host``, ``unknown_ca``) and
:func:`fetch_leaf_certificate` gets the certificate anyway, so the user sees its fingerprint
and can decide to pin it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509

from fluenzr.core import linear_re
from fluenzr.core.egress import EgressPolicy
from fluenzr.core.endpoints import TlsPolicy
from fluenzr.mail import egress

_PIN = linear_re.compile(r"^[0-9a-f]{64}$")
_PIN_NOISE = linear_re.compile(r"[\s:]")

# OpenSSL X509_V_ERR_* codes → our reasons (stable words used in message keys).
_VERIFY_REASONS = {
    9: "not_yet_valid",  # X509_V_ERR_CERT_NOT_YET_VALID
    10: "expired",  # X509_V_ERR_CERT_HAS_EXPIRED
    18: "self_signed",  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    19: "unknown_ca",  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: an untrusted root
    20: "unknown_ca",  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "unknown_ca",  # X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
    2: "unknown_ca",  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
    62: "wrong_host",  # X509_V_ERR_HOSTNAME_MISMATCH
    64: "wrong_host",  # X509_V_ERR_IP_ADDRESS_MISMATCH
}
# Handshake failures that mean "the other side is not speaking TLS" (plaintext greeting bytes
# read as a TLS record): implicit TLS was spoken to a STARTTLS or plain port.
_NOT_TLS_REASONS = {
    "WRONG_VERSION_NUMBER",
    "UNKNOWN_PROTOCOL",
    "HTTP_REQUEST",
    "PACKET_LENGTH_TOO_LONG",
    "RECORD_LAYER_FAILURE",
    "UNEXPECTED_RECORD",
}


class PinMismatch(Exception):
    """The server's leaf certificate is not the pinned one."""

    def __init__(self, fingerprint: str) -> None:
        super().__init__(f"certificate SHA-256 {fingerprint} does not match the pin")
        self.fingerprint = fingerprint


@dataclass(frozen=True)
class LeafCertificate:
    der: bytes
    fingerprint: str  # SHA-256, lowercase hex without colons (the pin format)
    subject: str
    issuer: str
    not_after: datetime
    self_signed: bool
    not_before: datetime | None = None

    @property
    def expired(self) -> bool:
        return self.not_after < datetime.now(UTC)


def normalise_fingerprint(value: str) -> str:
    """'AB:CD:…' or 'abcd…' → 64 lowercase hex chars; ValueError if it is not a SHA-256."""
    cleaned = _PIN_NOISE.sub("", value).lower()
    if cleaned.startswith("sha256/") or cleaned.startswith("sha256="):
        cleaned = cleaned[7:]
    if not _PIN.match(cleaned):
        raise ValueError("a SHA-256 fingerprint is 64 hexadecimal characters")
    return cleaned


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def client_context(policy: TlsPolicy) -> ssl.SSLContext:
    """The context to connect with under ``policy`` (cached: contexts are not mutated)."""
    if policy.pin_sha256:
        return _pinned_context()
    return _verifying_context(policy.ca_pem)


@functools.lru_cache(maxsize=32)
def _verifying_context(ca_pem: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_pem:
        # Text validated as X.509 PEM when it was saved; never a file the server would open.
        context.load_verify_locations(cadata=ca_pem)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@functools.lru_cache(maxsize=1)
def _pinned_context() -> ssl.SSLContext:
    # The pin replaces chain and name checks; check_pin() compares the leaf after the handshake.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def inspection_context() -> ssl.SSLContext:
    """Accepts any certificate: only to *look* at a failing server's certificate, never to
    log in."""
    return _pinned_context()


def peer_der(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> bytes | None:
    if ssl_object is None:
        return None
    return ssl_object.getpeercert(binary_form=True)


def check_pin(policy: TlsPolicy, ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> None:
    """Raise :class:`PinMismatch` unless the leaf matches ``policy.pin_sha256`` (if pinned)."""
    if not policy.pin_sha256:
        return
    der = peer_der(ssl_object)
    actual = fingerprint(der) if der else ""
    if actual != normalise_fingerprint(policy.pin_sha256):
        raise PinMismatch(actual)


def describe(der: bytes) -> LeafCertificate:
    cert = x509.load_der_x509_certificate(der)
    return LeafCertificate(
        der=der,
        fingerprint=fingerprint(der),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
        self_signed=cert.issuer == cert.subject,
        not_before=cert.not_valid_before_utc,
    )


_FACT_MAX = 300  # a certificate's names come from the server: bounded before they travel


def certificate_facts(leaf: LeafCertificate | None) -> dict[str, str]:
    """Subject, issuer and validity of a server's certificate, for the "trust it" panel."""
    if leaf is None:
        return {}
    return {
        "cert_subject": leaf.subject[:_FACT_MAX],
        "cert_issuer": leaf.issuer[:_FACT_MAX],
        "cert_not_before": leaf.not_before.isoformat() if leaf.not_before else "",
        "cert_not_after": leaf.not_after.isoformat(),
    }


def verification_reason(error: BaseException) -> str:
    """Why a certificate failed: expired, not_yet_valid, self_signed, wrong_host, unknown_ca."""
    if isinstance(error, PinMismatch):
        return "pin_mismatch"
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = _VERIFY_REASONS.get(error.verify_code)
        if reason:
            return reason
        message = (error.verify_message or "").lower()
        if "expired" in message:
            return "expired"
        if "self-signed" in message or "self signed" in message:
            return "self_signed"
        if "hostname" in message or "ip address" in message:
            return "wrong_host"
    return "unknown_ca"


def is_certificate_error(error: BaseException) -> bool:
    return isinstance(error, ssl.SSLCertVerificationError | PinMismatch)


def is_not_tls(error: BaseException) -> bool:
    """True when a handshake failed because the server answered in plaintext."""
    if not isinstance(error, ssl.SSLError) or isinstance(error, ssl.SSLCertVerificationError):
        return False
    reason = (getattr(error, "reason", None) or "").upper()
    return reason in _NOT_TLS_REASONS or "WRONG_VERSION_NUMBER" in str(error).upper()


async def fetch_leaf_certificate(
    host: str,
    port: int,
    *,
    timeout: float,  # noqa: ASYNC109 - bounds connect + handshake
    server_hostname: str | None = None,
    egress_policy: EgressPolicy = EgressPolicy.SINGLE_USER,
) -> LeafCertificate:
    """Connect with implicit TLS only to read the server's leaf certificate, then hang up."""
    async with asyncio.timeout(timeout):
        sock = await egress.open_socket(
            host, port, policy=egress_policy, purpose="mail", timeout=timeout
        )
        _, writer = await asyncio.open_connection(
            sock=sock, ssl=inspection_context(), server_hostname=server_hostname or host
        )
    try:
        der = peer_der(writer.get_extra_info("ssl_object"))
    finally:
        # abort(): a graceful TLS close would wait for the server's close_notify.
        writer.transport.abort()
        await asyncio.sleep(0)
    if not der:
        raise ssl.SSLError("server sent no certificate")
    return describe(der)


__all__ = [
    "LeafCertificate",
    "PinMismatch",
    "check_pin",
    "client_context",
    "describe",
    "fetch_leaf_certificate",
    "fingerprint",
    "inspection_context",
    "is_certificate_error",
    "is_not_tls",
    "normalise_fingerprint",
    "peer_der",
    "verification_reason",
]
