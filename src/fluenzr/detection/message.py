"""Lenient reading of incoming mail: headers, addresses and text bodies that never raise.

Incoming mail is hostile input (broken encodings, bogus charsets, truncated MIME). We parse with
the stdlib ``compat32`` policy, which keeps going on malformed input, and decode every header
and body ourselves behind one guard, so the classifier sees plain ``str`` values only.
"""

from __future__ import annotations

import codecs
import contextlib
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Any

from fluenzr.core import linear_re

# Cap what we decode: a classifier never needs megabytes of text.
MAX_TEXT = 200_000


def parse(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=policy.compat32)


_FOLD = linear_re.compile(rb"\r?\n[ \t]+")


def parse_headers(raw: bytes) -> Message:
    """A header block (what BODY.PEEK[HEADER.FIELDS …] returns) as a Message, fast.

    The stdlib parser costs ~0.1 ms a message, most of the triage of a large mailbox; a header
    block needs only unfolding and splitting. Lines that are not ``name: value`` are skipped.
    Decoded like the stdlib's bytes parser (ASCII, undecodable bytes kept as surrogates).
    """
    msg = _HeaderBlock()
    text = _FOLD.sub(b" ", raw).decode("ascii", "surrogateescape")
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line:
            break
        name, sep, value = line.partition(":")
        name = name.strip()
        if sep and name.isascii() and _FIELD_NAME.fullmatch(name):
            msg.add(name, value.strip())
    return msg


_FIELD_NAME = linear_re.compile(r"[!-9;-~]+")  # RFC 5322 ftext


class _HeaderBlock(Message):
    """A Message of headers only, with O(1) ``get`` (the stdlib scans every header per call)."""

    def __init__(self) -> None:
        super().__init__()
        self._first: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        self[name] = value
        self._first.setdefault(name.lower(), value)

    def get(self, name: str, failobj: Any = None) -> Any:
        value = self._first.get(name.lower())
        if value is None:
            return failobj
        return self.policy.header_fetch_parse(name, value)  # as Message.get does


def header(msg: Message, name: str) -> str:
    """The first ``name`` header as decoded text ('' when missing or undecodable)."""
    try:
        value = msg.get(name)
    except Exception:  # malformed header blocks must not stop the classifier
        return ""
    return decode_value(value)


def headers(msg: Message, name: str) -> list[str]:
    try:
        values = msg.get_all(name) or []
    except Exception:
        return []
    return [decode_value(v) for v in values]


def decode_value(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    if "=?" in text:
        with contextlib.suppress(Exception):  # RFC 2047 garbage: keep the raw text
            text = str(make_header(decode_header(text)))
    return " ".join(text.split())  # str.split: Unicode whitespace, like re's \s


_SIMPLE_ANGLE = linear_re.compile(
    r'^\s*([^"<>(),;:\\]*?)\s*<([^<>\s"(),;:\\]+@[^<>\s"(),;:\\]+)>\s*$'
)
_SIMPLE_BARE = linear_re.compile(r'^\s*([^<>\s"(),;:\\]+@[^<>\s"(),;:\\]+)\s*$')


def address(msg: Message, name: str) -> tuple[str, str]:
    """(display name, lower-cased address) of a single-address header."""
    value = header(msg, name)
    # Fast path for the common shapes ("Name <a@b>", "a@b"); RFC 5322 oddities (quotes,
    # comments, groups) go through the stdlib parser.
    simple = _SIMPLE_ANGLE.match(value) if value.isascii() else None
    if simple:
        return simple.group(1), simple.group(2).lower()
    bare = _SIMPLE_BARE.match(value) if value.isascii() else None
    if bare:
        return "", bare.group(1).lower()
    display, addr = parseaddr(value)
    return display, addr.strip().lower()


def all_addresses(msg: Message, *names: str) -> list[str]:
    values = [v for name in names for v in headers(msg, name)]
    try:
        pairs = getaddresses(values)
    except Exception:
        return []
    return [addr.strip().lower() for _, addr in pairs if "@" in addr]


def message_ids(value: str) -> list[str]:
    """Every message id in an In-Reply-To / References / Message-ID value, without brackets.

    Forgiving, as real clients are: ``<id>`` tokens (RFC 5322 msg-id) after dropping
    ``(comments)`` and any whitespace folded inside the brackets; without brackets, the bare
    ``left@right`` tokens (some clients and gateways write them so, and truncation leaves a
    last ``<id`` without its ``>``) — only when no bracketed id is there, so an old-style
    "In-Reply-To: message from a@b" phrase cannot add a stray id. Linear; at most 200 ids.
    """
    text = _without_comments(value[:20_000])
    found = [_squeeze(m) for m in _BRACKETED.findall(text)]
    found = [m for m in found if _plausible(m)]
    if found:
        return found[:200]
    for token in text.replace(",", " ").replace(";", " ").split():
        token = token.strip("<>\"'.")
        if _plausible(token) and token not in found:
            found.append(token)
    return found[:200]


_BRACKETED = linear_re.compile(r"<([^<>]{1,998})>")


def _squeeze(value: str) -> str:
    return "".join(value.split())


def _plausible(value: str) -> bool:
    left, at, right = value.partition("@")
    return (
        bool(at and left and right) and len(value) <= 998 and not any(c in value for c in '<>()" ')
    )


def _without_comments(value: str) -> str:
    """Drop RFC 5322 comments (nested, with quoted-pairs) outside <…>, in one pass."""
    if "(" not in value:
        return value
    out: list[str] = []
    depth = 0
    in_id = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
            continue
        if depth:
            if char == "\\":
                escaped = True
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            continue
        if char == "<":
            in_id = True
        elif char == ">":
            in_id = False
        elif char == "(" and not in_id:
            depth = 1
            out.append(" ")
            continue
        out.append(char)
    return "".join(out)


def message_id(msg: Message) -> str | None:
    found = message_ids(header(msg, "Message-ID"))
    return found[0] if found else None


def content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:
        return ""
    if isinstance(value, tuple):
        value = value[2]
    return str(value or "").lower()


def _charset(part: Message) -> str:
    name = param(part, "charset") or "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def part_text(part: Message) -> str:
    """The decoded text of a non-multipart part (transfer encoding and charset undone)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw[:MAX_TEXT] if isinstance(raw, str) else ""
    if not isinstance(payload, bytes):
        return ""
    data = payload[:MAX_TEXT]
    try:
        return data.decode(_charset(part), errors="replace")
    except Exception:  # some codecs raise other errors on odd input
        return data.decode("latin-1")


def walk(msg: Message) -> list[Message]:
    """Every part, depth-first, descending into multiparts only (not attached messages)."""
    out: list[Message] = []
    stack = [msg]
    while stack and len(out) < 500:
        part = stack.pop()
        out.append(part)
        if not content_type(part).startswith("multipart/"):
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
    return out


def bodies(msg: Message) -> tuple[str, str]:
    """(plain, html): the first inline text/plain and text/html of the message itself."""
    plain = html = ""
    for part in walk(msg):
        kind = content_type(part)
        if kind not in ("text/plain", "text/html"):
            continue
        disposition = header(part, "Content-Disposition").lower()
        if disposition.startswith("attachment"):
            continue
        if kind == "text/plain" and not plain:
            plain = part_text(part)
        elif kind == "text/html" and not html:
            html = part_text(part)
        if plain and html:
            break
    return plain, html
