"""The shared test Postfix + Dovecot (scripts/mailservers.sh): constants, fixture and helpers.

Every suite makes its own users with :func:`create_user` (never reset shared state: other
engineers' tests run against the same servers at the same time).

    def test_something(mailserver: None) -> None:
        user = create_user("probar")
        deliver(user.email, make_message(to=user.email))
        assert wait_for_message(user, subject="hello")

Ports (127.0.0.1 only, domain ``fluenzr.test``):

- ``SMTP_PLAIN_PORT`` 10025: no AUTH, no STARTTLS; delivers to local users (use it to drop test
  mail into a mailbox).
- ``SUBMISSION_PORT`` 10587: STARTTLS required, then AUTH (PLAIN, LOGIN, CRAM-MD5).
- ``SUBMISSIONS_PORT`` 10465: implicit TLS, then AUTH.
- ``LIMITED_PORT`` 10588: like 10587 but Postfix's anvil allows 3 messages per 20 s per client,
  then ``450 4.7.1 Error: too much mail from 127.0.0.1``. Shared by every suite: only tests about
  that limit should send through it.
- ``IMAP_PORT`` 10143 (STARTTLS offered), ``IMAPS_PORT`` 10993.

Mail to any other domain is accepted on submission and bounced at once (a real DSN arrives in the
sender's INBOX). Unknown ``@fluenzr.test`` recipients are refused at RCPT with ``550 5.1.1``.
"""

from __future__ import annotations

import email.utils
import imaplib
import os
import re
import secrets
import ssl
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from fluenzr.core.endpoints import Endpoint, Security, TlsPolicy
from fluenzr.core.secret import Secret
from fluenzr.services.account_config import AccountInput
from tests.support.services import port_open, unavailable

HOST = "127.0.0.1"
DOMAIN = "fluenzr.test"
SMTP_PLAIN_PORT = 10025
SUBMISSION_PORT = 10587
SUBMISSIONS_PORT = 10465
LIMITED_PORT = 10588
IMAP_PORT = 10143
IMAPS_PORT = 10993
ALL_PORTS = (
    SMTP_PLAIN_PORT,
    SUBMISSION_PORT,
    SUBMISSIONS_PORT,
    LIMITED_PORT,
    IMAP_PORT,
    IMAPS_PORT,
)

MAIL_DIR = Path(os.environ.get("FLUENZR_MAIL_DIR", "/var/lib/fluenzr-test-mail"))
CA_FILE = str(MAIL_DIR / "tls" / "ca.crt")
"""PEM of the test CA that signed the servers' certificate (SANs localhost, 127.0.0.1,
mail.fluenzr.test)."""
SERVER_CERT_FILE = str(MAIL_DIR / "tls" / "server.crt")


def ca_pem(path: str | None = CA_FILE) -> str | None:
    """The text of a CA file: accounts store a CA as PEM text, never as a path."""
    return Path(path).read_text(encoding="ascii") if path else None


_USERS = MAIL_DIR / "users.d"


@dataclass(frozen=True)
class MailUser:
    email: str
    password: str = field(repr=False)

    @property
    def secret(self) -> Secret:
        return Secret(self.password)

    def smtp_endpoint(
        self, *, port: int = SUBMISSION_PORT, security: Security | None = None
    ) -> Endpoint:
        """An Endpoint for this user on the test Postfix (security follows the port)."""
        default = {SUBMISSIONS_PORT: Security.SSL, SMTP_PLAIN_PORT: Security.NONE}
        chosen = security or default.get(port, Security.STARTTLS)
        return Endpoint(HOST, port, chosen, self.email, self.secret, TlsPolicy(ca_pem=ca_pem()))

    def account_input(self, **overrides: Any) -> AccountInput:
        """This user's account as the "+ SMTP" form takes it: submission with STARTTLS, IMAPS,
        the test CA on both; ``overrides`` replace any field."""
        ca = ca_pem()
        fields: dict[str, Any] = {
            "email": self.email,
            "smtp_host": HOST,
            "smtp_port": SUBMISSION_PORT,
            "smtp_security": "starttls",
            "password": self.secret,
            "imap_host": HOST,
            "imap_port": IMAPS_PORT,
            "imap_security": "ssl",
            "smtp_ca_pem": ca,
            "imap_ca_pem": ca,
        }
        return AccountInput(**(fields | overrides))

    def imap_endpoint(
        self, *, port: int = IMAPS_PORT, security: Security | None = None
    ) -> Endpoint:
        chosen = security or (Security.SSL if port == IMAPS_PORT else Security.STARTTLS)
        return Endpoint(HOST, port, chosen, self.email, self.secret, TlsPolicy(ca_pem=ca_pem()))


def servers_up() -> bool:
    return all(port_open(HOST, port) for port in ALL_PORTS)


def require_mailserver() -> None:
    """Skip (locally) or fail (under CI) unless Postfix and Dovecot answer on every port."""
    closed = [port for port in ALL_PORTS if not port_open(HOST, port)]
    if closed:
        unavailable("Postfix/Dovecot", f"nothing listens on 127.0.0.1:{closed}")
    if not os.access(_USERS, os.W_OK):
        unavailable("Postfix/Dovecot", f"cannot add test users: {_USERS} is not writable")


@pytest.fixture
def mailserver() -> None:
    """Use in any test that talks to the shared Postfix/Dovecot."""
    require_mailserver()


def create_user(prefix: str = "user", *, password: str | None = None) -> MailUser:
    """A fresh virtual user ``<prefix>-<random>@fluenzr.test``, usable at once (no restart)."""
    return create_users(prefix, 1, password=password)[0]


def create_users(prefix: str, count: int, *, password: str | None = None) -> list[MailUser]:
    """``count`` fresh users in one step (one map update: fast for hundreds of mailboxes)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,40}", prefix):
        raise ValueError(f"prefix must be lowercase letters, digits, '.', '_' or '-': {prefix!r}")
    users = [
        MailUser(
            f"{prefix}-{uuid.uuid4().hex[:12]}@{DOMAIN}", password or secrets.token_urlsafe(12)
        )
        for _ in range(count)
    ]
    _add_users(users)
    return users


def _add_users(users: Iterable[MailUser]) -> None:
    for user in users:
        # One passwd-file per user (read by Dovecot, and by Postfix's recipient lookup), written
        # whole then renamed so neither ever sees half a line. Usable at once, no reload.
        path = _USERS / user.email
        tmp = path.with_name(f".{user.email}.tmp")
        tmp.write_text(f"{user.email}:{{PLAIN}}{user.password}::::::\n")
        tmp.chmod(0o644)
        tmp.replace(path)


def client_tls_context() -> ssl.SSLContext:
    """A verifying client context that trusts the test CA."""
    return ssl.create_default_context(cafile=CA_FILE)


# -- messages ---------------------------------------------------------------------------------


def make_message(
    *,
    to: str,
    sender: str = f"tester@{DOMAIN}",
    subject: str = "FluenzR test",
    body: str = "Hello from the FluenzR test suite.\n",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain=DOMAIN)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


async def deliver(
    recipient: str | list[str], message: bytes, *, sender: str = f"tester@{DOMAIN}"
) -> None:
    """Deliver a raw message through the plain port 10025 (lands in the users' INBOX)."""
    import aiosmtplib

    recipients = [recipient] if isinstance(recipient, str) else recipient
    await aiosmtplib.send(
        message,
        sender=sender,
        recipients=recipients,
        hostname=HOST,
        port=SMTP_PLAIN_PORT,
        use_tls=False,
        start_tls=False,
        timeout=10,
    )


# -- reading mailboxes (stdlib imaplib: test support only) ------------------------------------


@dataclass(frozen=True)
class StoredMessage:
    uid: int
    flags: frozenset[str]
    raw: bytes

    @property
    def message_id(self) -> str | None:
        import email as email_pkg

        value = email_pkg.message_from_bytes(self.raw).get("Message-ID")
        return str(value).strip() if value else None

    @property
    def subject(self) -> str | None:
        import email as email_pkg

        value = email_pkg.message_from_bytes(self.raw).get("Subject")
        return str(value) if value is not None else None


def imap_login(user: MailUser) -> imaplib.IMAP4_SSL:
    conn = imaplib.IMAP4_SSL(HOST, IMAPS_PORT, ssl_context=client_tls_context(), timeout=10)
    conn.login(user.email, user.password)
    return conn


def list_messages(user: MailUser, folder: str = "INBOX") -> list[StoredMessage]:
    """Every message of ``folder`` with its flags, read with BODY.PEEK (flags untouched)."""
    conn = imap_login(user)
    try:
        typ, _ = conn.select(_quote(folder), readonly=True)
        if typ != "OK":
            raise LookupError(f"no folder {folder!r} for {user.email}")
        typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
        return _parse_fetch(data) if typ == "OK" else []
    finally:
        conn.logout()


def wait_for_message(
    user: MailUser,
    *,
    folder: str = "INBOX",
    message_id: str | None = None,
    subject: str | None = None,
    timeout: float = 10.0,
) -> StoredMessage | None:
    """Poll ``folder`` until a message with this Message-ID / Subject arrives, else None."""
    deadline = time.monotonic() + timeout
    while True:
        for message in list_messages(user, folder):
            if message_id is not None and message.message_id != message_id:
                continue
            if subject is not None and message.subject != subject:
                continue
            return message
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


def folder_names(user: MailUser) -> dict[str, str]:
    """Special-use attribute (``\\Sent``…) or name → folder name, as LIST shows them."""
    conn = imap_login(user)
    try:
        _, data = conn.list()
    finally:
        conn.logout()
    found: dict[str, str] = {}
    for line in data:
        if not isinstance(line, bytes):
            continue
        match = re.match(rb'\((?P<attrs>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.+)$', line)
        if not match:
            continue
        name = match.group("name").decode().strip('"')
        found[name] = name
        for attr in match.group("attrs").decode().split():
            if attr in {"\\Sent", "\\Drafts", "\\Trash", "\\Junk"}:
                found[attr] = name
    return found


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_fetch(data: list[object]) -> list[StoredMessage]:
    messages: list[StoredMessage] = []
    for item in data:
        if not isinstance(item, tuple) or len(item) < 2:
            continue
        head, raw = item[0], item[1]
        if not isinstance(head, bytes) or not isinstance(raw, bytes):
            continue
        uid = re.search(rb"UID (\d+)", head)
        flags = re.search(rb"FLAGS \(([^)]*)\)", head)
        messages.append(
            StoredMessage(
                uid=int(uid.group(1)) if uid else 0,
                flags=frozenset(flags.group(1).decode().split()) if flags else frozenset(),
                raw=raw,
            )
        )
    return messages


__all__ = [
    "ALL_PORTS",
    "CA_FILE",
    "DOMAIN",
    "HOST",
    "IMAPS_PORT",
    "IMAP_PORT",
    "LIMITED_PORT",
    "MAIL_DIR",
    "SMTP_PLAIN_PORT",
    "SUBMISSIONS_PORT",
    "SUBMISSION_PORT",
    "MailUser",
    "StoredMessage",
    "ca_pem",
    "client_tls_context",
    "create_user",
    "create_users",
    "deliver",
    "folder_names",
    "imap_login",
    "list_messages",
    "mailserver",
    "make_message",
    "require_mailserver",
    "servers_up",
    "wait_for_message",
]


# -- DKIM signing (OpenDKIM milter; scripts/mailservers/opendkim.conf) -------------------------

DKIM_PORT = 10891  # mail from dkim-*@fluenzr.test is signed d=fluenzr.test s=fz1
DKIM_SELECTOR = "fz1"
DKIM_RECORD_FILE = MAIL_DIR / "opendkim" / "fz1.txt"


def require_dkim() -> None:
    """Skip (locally) or fail (under CI) unless the OpenDKIM milter answers."""
    if not port_open(HOST, DKIM_PORT) or not DKIM_RECORD_FILE.exists():
        unavailable(
            "OpenDKIM", f"nothing listens on 127.0.0.1:{DKIM_PORT} (scripts/mailservers.sh up)"
        )


def dkim_public_record() -> str:
    """The ``v=DKIM1; k=rsa; p=…`` TXT value opendkim-genkey wrote for the signing key."""
    text = DKIM_RECORD_FILE.read_text()
    return "".join(re.findall(r'"([^"]*)"', text))
