"""What a transport needs to reach a mail server: plain values, the password as a Secret."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from fluenzr.core.secret import Secret


class Security(StrEnum):
    STARTTLS = "starttls"  # shown to users as "TLS" (587)
    SSL = "ssl"  # implicit TLS, shown as "SSL" (465, 993)
    NONE = "none"  # cleartext: loopback hosts only

    @property
    def label(self) -> str:
        return {"starttls": "TLS", "ssl": "SSL", "none": "—"}[self.value]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost' — the only hosts cleartext is allowed to."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class TlsPolicy:
    """How to trust the server: system store, plus an extra CA file, or a pinned certificate."""

    ca_file: str | None = None
    pin_sha256: str | None = None  # 64 lowercase hex chars, no colons


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    security: Security
    username: str
    password: Secret
    tls: TlsPolicy = TlsPolicy()


@dataclass(frozen=True)
class MailboxCredentials:
    """An account opened by the sending system: everything needed to talk to its servers."""

    account_id: int
    workspace_id: int
    email: str
    display_name: str
    smtp: Endpoint
    imap: Endpoint | None


# How the sending system decrypts an account (account id → credentials). Built by the
# composition root (``services.runtime``) and handed to the parts of sending and detection
# that connect; nothing else gets one.
OpenCredentials = Callable[[int], MailboxCredentials]
