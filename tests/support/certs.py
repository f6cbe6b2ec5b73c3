"""Certificates for TLS tests: a test CA (trustme); good, expired, wrong-host, self-signed leaves.

pki = pki()                      # one CA per test session (cached)
good = pki.leaf()                     # valid for 127.0.0.1 and localhost
server_ctx = good.server_context()    # for an in-process server
policy = TlsPolicy(ca_pem=pki.ca_pem)
pinned = TlsPolicy(pin_sha256=self_signed().fingerprint)
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_DIR = Path(tempfile.mkdtemp(prefix="fluenzr-test-certs-"))


@dataclass(frozen=True)
class ServerCert:
    cert_pem: bytes
    key_pem: bytes
    name: str

    @property
    def der(self) -> bytes:
        return ssl.PEM_cert_to_DER_cert(self.cert_pem.decode())

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the leaf, lowercase hex: the pin format of TlsPolicy.pin_sha256."""
        return hashlib.sha256(self.der).hexdigest()

    def files(self) -> tuple[str, str]:
        cert, key = _DIR / f"{self.name}.crt", _DIR / f"{self.name}.key"
        if not cert.exists():
            cert.write_bytes(self.cert_pem)
            key.write_bytes(self.key_pem)
        return str(cert), str(key)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert, key = self.files()
        context.load_cert_chain(cert, key)
        return context


class PKI:
    """A CA that clients trust via ``ca_pem`` (its PEM text), and leaves it issues."""

    def __init__(self) -> None:
        self.ca = trustme.CA(organization_name="FluenzR test CA")
        path = _DIR / f"ca-{id(self)}.pem"
        self.ca.cert_pem.write_to_path(str(path))
        self.ca_file = str(path)
        self.ca_pem = self.ca.cert_pem.bytes().decode("ascii")
        self._count = 0

    def leaf(
        self,
        *identities: str,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> ServerCert:
        self._count += 1
        issued = self.ca.issue_cert(
            *(identities or ("127.0.0.1", "localhost")), not_before=not_before, not_after=not_after
        )
        chain = b"".join(blob.bytes() for blob in issued.cert_chain_pems)
        return ServerCert(chain, issued.private_key_pem.bytes(), f"leaf-{id(self)}-{self._count}")

    def expired(self) -> ServerCert:
        now = dt.datetime.now(dt.UTC)
        return self.leaf(
            not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)
        )

    def wrong_host(self) -> ServerCert:
        return self.leaf("mail.elsewhere.test")


@functools.cache
def pki() -> PKI:
    return PKI()


@functools.cache
def self_signed(host: str = "127.0.0.1") -> ServerCert:
    """A bare self-signed leaf, like Proton Bridge's or a home server's own certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return ServerCert(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        f"self-signed-{host}",
    )


__all__ = ["PKI", "ServerCert", "pki", "self_signed"]
