"""What a transport needs to reach a mail server: plain values, the password as a Secret."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from fluenzr.core.egress import EgressPolicy
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
    """How to trust the server: system store, plus an extra CA (PEM text), or a pinned
    certificate. The CA is text stored with the account, never a path on the server."""

    ca_pem: str | None = None
    pin_sha256: str | None = None  # 64 lowercase hex chars, no colons


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    security: Security
    username: str
    password: Secret
    tls: TlsPolicy = TlsPolicy()
    # False only when the account explicitly says "no authentication" (a local relay).
    authenticate: bool = True
    egress: EgressPolicy = EgressPolicy.SINGLE_USER
    # An OAuth 2.0 mechanism ("XOAUTH2" or "OAUTHBEARER"): then ``password`` is the access token.
    oauth: str | None = None


@dataclass(frozen=True)
class MailboxCredentials:
    """An account opened by the sending system: everything needed to talk to its servers."""

    account_id: int
    workspace_id: int
    email: str
    display_name: str
    smtp: Endpoint
    imap: Endpoint | None
    # OAuth accounts: when the access token in the endpoints expires (reopen before then).
    valid_until: datetime | None = None


# How the sending system decrypts an account (account id → credentials). Built by the
# composition root (``services.runtime``) and handed to the parts of sending and detection
# that connect; nothing else gets one.
# ``renew=True`` (OAuth accounts): the server refused the access token, get a new one.
class OpenCredentials(Protocol):
    def __call__(self, account_id: int, /, *, renew: bool = False) -> MailboxCredentials: ...
