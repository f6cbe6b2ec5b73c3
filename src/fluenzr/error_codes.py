"""The mail error taxonomy, as data: every stable code a transport or Probar can report.

Each row says which heading a user sees (``category``, rendered with the i18n key
``category.<category>``: the seed page's "Conexión rechazada", "Autenticación fallida",
"Certificado inválido", "Límite de envío alcanzado", plus the others real servers need), whether
the server's answer is final for this message (``permanent``), whether trying again later without
changing anything may succeed (``retryable``) and what the failure is about (``scope``):

- ``account``: the account's settings or credentials are wrong; pause the account, ask the user.
- ``recipient``: this recipient only (unknown user, full mailbox); other mail goes on.
- ``message``: this message only (content, size).
- ``server``: the server or the network right now; retry later with backoff.

Messages and hints live in ``i18n/locales/<lang>/diagnose.po`` as ``error.<code>.message`` and
``error.<code>.hint``; a test checks every row has both in es, en and fr. To add a code, add a
row to :data:`ROWS` (and its catalogue entries): nothing else changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Scope = Literal["account", "recipient", "message", "server"]


class Category(StrEnum):
    CONNECTION = "connection"  # "Conexión rechazada"
    AUTH = "auth"  # "Autenticación fallida"
    CERTIFICATE = "certificate"  # "Certificado inválido"
    SENDING_LIMIT = "sending_limit"  # "Límite de envío alcanzado"
    DNS = "dns"
    TIMEOUT = "timeout"
    TLS = "tls"
    SENDER = "sender"
    RECIPIENT = "recipient"
    MESSAGE = "message"
    SERVER = "server"
    IMAP = "imap"
    TEST_MAIL = "test_mail"
    MAIL = "mail"  # fallback for a code missing from the table

    @property
    def key(self) -> str:
        return f"category.{self.value}"


@dataclass(frozen=True)
class ErrorKind:
    code: str
    category: Category
    permanent: bool
    retryable: bool
    scope: Scope


def _row(
    code: str, category: Category, *, permanent: bool, retryable: bool, scope: Scope
) -> ErrorKind:
    return ErrorKind(code, category, permanent, retryable, scope)


C = Category
ROWS: tuple[ErrorKind, ...] = (
    # -- reaching the server (SMTP) ---------------------------------------------------------
    _row("dns_not_found", C.DNS, permanent=False, retryable=False, scope="account"),
    _row("connection_refused", C.CONNECTION, permanent=False, retryable=True, scope="account"),
    _row("host_unreachable", C.CONNECTION, permanent=False, retryable=True, scope="server"),
    _row("timeout", C.TIMEOUT, permanent=False, retryable=True, scope="server"),
    _row("server_disconnected", C.CONNECTION, permanent=False, retryable=True, scope="server"),
    _row("server_unavailable", C.CONNECTION, permanent=False, retryable=True, scope="server"),
    _row("cleartext_not_allowed", C.TLS, permanent=True, retryable=False, scope="account"),
    _row("egress_refused", C.CONNECTION, permanent=True, retryable=False, scope="account"),
    _row("no_auth_not_allowed", C.AUTH, permanent=True, retryable=False, scope="account"),
    # -- TLS -------------------------------------------------------------------------------
    _row("tls_mode_mismatch", C.TLS, permanent=True, retryable=False, scope="account"),
    _row("tls_failed", C.TLS, permanent=False, retryable=True, scope="account"),
    _row("starttls_unavailable", C.TLS, permanent=True, retryable=False, scope="account"),
    _row("certificate_invalid", C.CERTIFICATE, permanent=True, retryable=False, scope="account"),
    # -- authentication --------------------------------------------------------------------
    _row("auth_failed", C.AUTH, permanent=True, retryable=False, scope="account"),
    _row("auth_mechanism_unsupported", C.AUTH, permanent=True, retryable=False, scope="account"),
    _row("auth_required", C.AUTH, permanent=True, retryable=False, scope="account"),
    _row("auth_throttled", C.AUTH, permanent=False, retryable=True, scope="account"),
    _row("relay_denied", C.AUTH, permanent=True, retryable=False, scope="account"),
    # -- the envelope and the message ------------------------------------------------------
    _row("sender_rejected", C.SENDER, permanent=True, retryable=False, scope="account"),
    _row("recipient_rejected", C.RECIPIENT, permanent=True, retryable=False, scope="recipient"),
    _row("mailbox_full", C.RECIPIENT, permanent=False, retryable=True, scope="recipient"),
    _row("sending_limit", C.SENDING_LIMIT, permanent=False, retryable=True, scope="account"),
    _row("message_too_large", C.MESSAGE, permanent=True, retryable=False, scope="message"),
    _row("message_rejected", C.MESSAGE, permanent=True, retryable=False, scope="message"),
    _row("temporary_failure", C.SERVER, permanent=False, retryable=True, scope="server"),
    _row("unexpected_reply", C.SERVER, permanent=True, retryable=False, scope="server"),
    # -- IMAP --------------------------------------------------------------------------------
    _row("imap_dns_not_found", C.DNS, permanent=False, retryable=False, scope="account"),
    _row("imap_connection_refused", C.CONNECTION, permanent=False, retryable=True, scope="account"),
    _row("imap_host_unreachable", C.CONNECTION, permanent=False, retryable=True, scope="server"),
    _row("imap_timeout", C.TIMEOUT, permanent=False, retryable=True, scope="server"),
    _row("imap_server_disconnected", C.CONNECTION, permanent=False, retryable=True, scope="server"),
    _row("imap_cleartext_not_allowed", C.TLS, permanent=True, retryable=False, scope="account"),
    _row("imap_egress_refused", C.CONNECTION, permanent=True, retryable=False, scope="account"),
    _row("imap_tls_mode_mismatch", C.TLS, permanent=True, retryable=False, scope="account"),
    _row("imap_tls_failed", C.TLS, permanent=False, retryable=True, scope="account"),
    _row("imap_starttls_unavailable", C.TLS, permanent=True, retryable=False, scope="account"),
    _row(
        "imap_certificate_invalid", C.CERTIFICATE, permanent=True, retryable=False, scope="account"
    ),
    _row("imap_auth_failed", C.AUTH, permanent=True, retryable=False, scope="account"),
    _row("imap_folder_not_found", C.IMAP, permanent=True, retryable=False, scope="account"),
    _row("imap_command_failed", C.IMAP, permanent=False, retryable=True, scope="server"),
    _row("imap_unexpected_response", C.IMAP, permanent=False, retryable=True, scope="server"),
    # -- Probar ------------------------------------------------------------------------------
    _row("test_mail_not_received", C.TEST_MAIL, permanent=False, retryable=True, scope="account"),
    # A warning: sending works, but copies to Sent cannot be made.
    _row("sent_folder_not_found", C.IMAP, permanent=False, retryable=False, scope="account"),
)
del C

TAXONOMY: Mapping[str, ErrorKind] = {row.code: row for row in ROWS}
_FALLBACK = ErrorKind("mail_error", Category.MAIL, False, False, "server")


def kind(code: str) -> ErrorKind:
    """The taxonomy row for ``code`` (a neutral fallback for an unknown code, never a crash)."""
    return TAXONOMY.get(code, _FALLBACK)


def category_of(code: str) -> Category:
    return kind(code).category


__all__ = [
    "ROWS",
    "TAXONOMY",
    "Category",
    "ErrorKind",
    "Scope",
    "category_of",
    "kind",
]
