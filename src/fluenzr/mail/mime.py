"""Building the exact bytes of an outgoing message, fast and standards-correct.

The stdlib ``email`` package (modern API, ``policy.SMTP``) does every encoding: RFC 2047
encoded-words for non-ASCII display names and subjects, quoted-printable bodies, multipart
boundaries. What makes it slow is doing all of it again for every message, so:

* the body (text, optional HTML alternative) is serialised once per distinct content and cached;
* a header whose value is short printable ASCII needs no encoding at all and is written as is —
  byte-for-byte what the stdlib would fold (a unit test holds both paths equal); anything else
  goes through the stdlib header registry, cached per value (From and Subject repeat).

``Date`` is left out: the worker adds it when the message really leaves (:func:`with_date`), so
a message scheduled for tomorrow is not dated today. Everything after that line is fixed at
enqueue, so the bytes sent and the copy in Sent are the same.

Any CR or LF in a header value is refused (header injection) with a ValidationError naming the
header. Addresses with a non-ASCII local part need SMTPUTF8 (RFC 6531/6532): then the message is
built with ``policy.SMTPUTF8`` and :attr:`Built.smtputf8` tells the transport.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime

from fluenzr.core import linear_re
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError

_ASCII_POLICY = email_policy.SMTP
_UTF8_POLICY = email_policy.SMTPUTF8
_BODY_POLICY = email_policy.SMTP.clone(cte_type="7bit")
_SIMPLE = linear_re.compile(r"^[\x20-\x7e]*$")
_ATOM_PHRASE = linear_re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$")
_FIELD_NAME = linear_re.compile(r"^[!-9;-~]{1,76}$")  # printable ASCII except ':' (RFC 5322 2.2)
_MSG_ID = linear_re.compile(r"^<?([!-;=?-~]{1,250}@[!-;=?-~]{1,250})>?$")
_URI = linear_re.compile(r"^(mailto:|https://)[!-;=?-~]+$")  # no space, '<' or '>'
MAX_LINE = 78

# Headers the builder owns: a user --header may not set them.
RESERVED = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "reply-to",
        "sender",
        "return-path",
        "received",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "list-unsubscribe",
        "list-unsubscribe-post",
    }
)


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""


@dataclass(frozen=True)
class Draft:
    """Everything a message is built from. Addresses are already validated and normalised."""

    sender: Address
    to: Sequence[Address]
    subject: str
    text: str
    cc: Sequence[Address] = ()
    html: str | None = None
    reply_to: Address | None = None
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    headers: Sequence[tuple[str, str]] = ()
    unsubscribe: Sequence[str] = ()  # mailto: and/or https:// URIs (RFC 2369)
    one_click: bool = False  # RFC 8058; needs an https URI among ``unsubscribe``


@dataclass(frozen=True)
class Built:
    mime: bytes  # without the Date line
    message_id: str  # without <>
    smtputf8: bool = False
    envelope_to: tuple[str, ...] = field(default_factory=tuple)


def refuse_line_breaks(name: str, value: str) -> None:
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValidationError(ErrorCode.HEADER_INJECTION, params={"field": name, "header": name})


def domain_of(email: str) -> str:
    return email.rpartition("@")[2]


def new_message_id(domain: str) -> str:
    """A unique id on the sender's domain (RFC 5322 3.6.4), without the angle brackets."""
    stamp = format(time.time_ns() // 1000, "x")
    return f"{stamp}.{secrets.token_hex(8)}@{domain}"


def normalise_msg_id(value: str, *, field_name: str) -> str:
    refuse_line_breaks(field_name, value)
    match = _MSG_ID.match(value.strip())
    if match is None:
        raise ValidationError(
            ErrorCode.MESSAGE_ID_INVALID, params={"field": field_name, "value": value}
        )
    return match.group(1)


def _needs_utf8(address: Address) -> bool:
    return not address.email.isascii()


@functools.lru_cache(maxsize=4096)
def _fold_registry(name: str, value: str, utf8: bool) -> str:
    policy = _UTF8_POLICY if utf8 else _ASCII_POLICY
    folded: str = policy.header_factory(name, value).fold(policy=policy)
    return folded


def fold_unstructured(name: str, value: str, *, utf8: bool = False) -> str:
    """One header line (CRLF-terminated), encoded only when it has to be."""
    refuse_line_breaks(name, value)
    if value and (
        _SIMPLE.match(value)
        and "=?" not in value
        and len(name) + 2 + len(value) <= MAX_LINE
        and value == value.strip()
        and "  " not in value
    ):
        return f"{name}: {value}\r\n"
    return _fold_registry(name, value, utf8)


def _format_address(address: Address) -> str | None:
    """``Name <a@b>`` when no encoding or quoting is needed, else None (use the registry)."""
    if not address.email.isascii():
        return None
    if not address.name:
        return address.email
    if _ATOM_PHRASE.match(address.name) and address.name == address.name.strip():
        return f"{address.name} <{address.email}>"
    return None


def fold_addresses(name: str, addresses: Sequence[Address], *, utf8: bool = False) -> str:
    for address in addresses:
        refuse_line_breaks(name, address.name)
        refuse_line_breaks(name, address.email)
    parts = [_format_address(a) for a in addresses]
    if any(part is None for part in parts):
        return _fold_addresses_registry(name, tuple(addresses), utf8)
    return _fold_list(name, [p for p in parts if p is not None], ",")


@functools.lru_cache(maxsize=4096)
def _fold_addresses_registry(name: str, addresses: tuple[Address, ...], utf8: bool) -> str:
    """Encoded-words or quoting needed: the stdlib folds it (cached: From repeats)."""
    from email.headerregistry import Address as StdAddress

    policy = _UTF8_POLICY if utf8 else _ASCII_POLICY
    header = policy.header_factory(
        name,
        [
            StdAddress(display_name=a.name, username=local, domain=domain)
            for a in addresses
            for local, _, domain in [a.email.rpartition("@")]
        ],
    )
    folded: str = header.fold(policy=policy)
    return folded


def _fold_list(name: str, items: Sequence[str], separator: str) -> str:
    """Join items, folding between them (never inside one) when a line would pass 78."""
    line = f"{name}:"
    lines: list[str] = []
    for index, item in enumerate(items):
        piece = item + (separator if index < len(items) - 1 else "")
        if len(line) + 1 + len(piece) > MAX_LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + piece
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def _unsubscribe_lines(draft: Draft) -> str:
    if not draft.unsubscribe:
        return ""
    for uri in draft.unsubscribe:
        refuse_line_breaks("List-Unsubscribe", uri)
        if not _URI.match(uri):
            raise ValidationError(
                ErrorCode.UNSUBSCRIBE_INVALID, params={"field": "unsubscribe", "value": uri}
            )
    out = _fold_list("List-Unsubscribe", [f"<{uri}>" for uri in draft.unsubscribe], ",")
    if draft.one_click:
        if not any(uri.startswith("https://") for uri in draft.unsubscribe):
            raise ValidationError(ErrorCode.ONE_CLICK_NEEDS_HTTPS, params={"field": "unsubscribe"})
        out += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    return out


def _custom_header_lines(draft: Draft, *, utf8: bool) -> str:
    out = []
    for name, value in draft.headers:
        if not _FIELD_NAME.match(name):
            raise ValidationError(
                ErrorCode.HEADER_NAME_INVALID, params={"field": "header", "name": name}
            )
        if name.lower() in RESERVED:
            raise ValidationError(
                ErrorCode.HEADER_RESERVED, params={"field": "header", "name": name}
            )
        out.append(fold_unstructured(name, value, utf8=utf8))
    return "".join(out)


@functools.lru_cache(maxsize=256)
def body_bytes(text: str, html: str | None) -> bytes:
    """MIME-Version, Content-* headers and the encoded body: built once per distinct content."""
    message = EmailMessage(policy=_BODY_POLICY)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message.as_bytes()


def _threading_lines(draft: Draft) -> str:
    out = ""
    if draft.in_reply_to:
        parent = normalise_msg_id(draft.in_reply_to, field_name="in_reply_to")
        out += f"In-Reply-To: <{parent}>\r\n"
        refs = [normalise_msg_id(r, field_name="references") for r in draft.references]
        if parent not in refs:
            refs.append(parent)
        out += _fold_list("References", [f"<{r}>" for r in refs], "")
    return out


def build(draft: Draft, *, message_id: str | None = None) -> Built:
    """The message's bytes (without Date). Raises ValidationError for anything unsafe."""
    everyone = [draft.sender, *draft.to, *draft.cc]
    if draft.reply_to is not None:
        everyone.append(draft.reply_to)
    utf8 = any(_needs_utf8(a) for a in everyone)
    msg_id = message_id or new_message_id(domain_of(draft.sender.email))
    head = [
        fold_addresses("From", [draft.sender], utf8=utf8),
        fold_addresses("To", draft.to, utf8=utf8),
    ]
    if draft.cc:
        head.append(fold_addresses("Cc", draft.cc, utf8=utf8))
    if draft.reply_to is not None:
        head.append(fold_addresses("Reply-To", [draft.reply_to], utf8=utf8))
    head.append(fold_unstructured("Subject", draft.subject, utf8=utf8))
    head.append(f"Message-ID: <{msg_id}>\r\n")
    head.append(_threading_lines(draft))
    head.append(_unsubscribe_lines(draft))
    head.append(_custom_header_lines(draft, utf8=utf8))
    mime = "".join(head).encode("utf-8") + body_bytes(draft.text, draft.html)
    recipients = tuple(a.email for a in (*draft.to, *draft.cc))
    return Built(mime=mime, message_id=msg_id, smtputf8=utf8, envelope_to=recipients)


def date_line(when: datetime) -> bytes:
    # Every message sent within the same second shares its Date line: format it once. The key
    # keeps the offset apart (aware datetimes compare equal across zones for the same instant).
    return _date_line(when.replace(microsecond=0, tzinfo=None), when.utcoffset())


@functools.lru_cache(maxsize=64)
def _date_line(local: datetime, offset: timedelta | None) -> bytes:
    zone = None if offset is None else timezone(offset)
    return f"Date: {format_datetime(local.replace(tzinfo=zone))}\r\n".encode("ascii")


def with_date(mime: bytes, when: datetime) -> bytes:
    """The bytes that go on the wire and into Sent: the Date line, then the stored message."""
    return date_line(when) + mime
