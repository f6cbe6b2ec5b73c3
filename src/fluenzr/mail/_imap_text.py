"""IMAP wire text helpers for :mod:`fluenzr.mail.imap`: quoting, mailbox names, response parsing.

aioimaplib returns raw response lines; these small parsers read the few responses we use
(LIST, SEARCH, FETCH). Mailbox names use IMAP's modified UTF-7 (RFC 3501 §5.1.3).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any

from fluenzr.core import linear_re

# Used when no folder carries the \Sent special-use flag (RFC 6154).
SENT_FALLBACK_NAMES: tuple[str, ...] = (
    "Sent",
    "Sent Items",
    "Sent Messages",
    "Sent Mail",
    "Enviados",
    "Elementos enviados",
    "Correo enviado",
    "Éléments envoyés",
    "Envoyés",
    "Messages envoyés",
    "INBOX.Sent",
    "INBOX/Sent",
    "[Gmail]/Sent Mail",
)

# Positional groups: google-re2 names the groups of a bytes pattern in str only.
_LIST = linear_re.compile(rb'^(?:LIST )?\(([^)]*)\) ("(?:[^"\\]|\\.)*"|NIL) (.*)$')
_SHIFTED = linear_re.compile(r"&([^-]*)-")
_UID = linear_re.compile(rb"UID (\d+)")
_FLAGS = linear_re.compile(rb"FLAGS \(([^)]*)\)")
_SIZE = linear_re.compile(rb"RFC822\.SIZE (\d{1,12})")
_FETCH_START = linear_re.compile(rb"^\d+ FETCH \(")


def quote(name: str) -> str:
    """A mailbox name as an IMAP quoted string (modified UTF-7 applied to non-ASCII)."""
    wire = encode_mailbox(name) if not name.isascii() else name
    return '"' + wire.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_mailbox(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def decode_mailbox(name: str) -> str:
    def replace(match: re.Match[str]) -> str:
        chunk = match.group(1)
        if not chunk:
            return "&"
        padded = chunk.replace(",", "/") + "=" * (-len(chunk) % 4)
        return base64.b64decode(padded).decode("utf-16-be", errors="replace")

    return _SHIFTED.sub(replace, name)


def _unquote(value: bytes) -> str:
    text = value.decode("utf-8", errors="replace")
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


def parse_list(lines: Sequence[Any]) -> list[tuple[frozenset[str], str | None, str]]:
    """(flags, delimiter, raw name) for each LIST line."""
    found = []
    for line in lines:
        match = _LIST.match(bytes(line))
        if not match:
            continue
        flags = frozenset(match.group(1).decode(errors="replace").split())
        delim = None if match.group(2) == b"NIL" else _unquote(match.group(2))
        found.append((flags, delim, _unquote(match.group(3).strip())))
    return found


def parse_search(lines: Sequence[Any]) -> list[int]:
    """UIDs from a SEARCH response (aioimaplib drops the ``SEARCH`` word; accept both)."""
    for line in lines:
        tokens = bytes(line).split()
        if tokens[:1] == [b"SEARCH"]:
            tokens = tokens[1:]
        if tokens and all(t.isdigit() for t in tokens):
            return [int(t) for t in tokens]
        if not tokens:
            continue
        return []
    return []


def parse_fetch(lines: Sequence[Any]) -> list[tuple[int, frozenset[str], bytes]]:
    """(uid, flags, literal) per FETCH item; the literal is the first body section (or b"")."""
    return [(uid, flags, literal) for uid, flags, literal, _ in parse_fetch_sized(lines)]


def parse_fetch_sized(
    lines: Sequence[Any],
) -> list[tuple[int, frozenset[str], bytes, int | None]]:
    """Like :func:`parse_fetch`, with each item's RFC822.SIZE (None when not asked for)."""
    items: list[tuple[int, frozenset[str], bytes, int | None]] = []
    head: list[bytes] = []
    literal = b""
    for line in [*lines, b""]:
        is_literal = isinstance(line, bytearray)
        data = bytes(line)
        if not is_literal and (_FETCH_START.match(data) or data == b"") and head:
            items.append(_fetch_item(b" ".join(head), literal))
            head, literal = [], b""
        if is_literal:
            literal = literal or data
        elif _FETCH_START.match(data) or head:
            head.append(data)
    return [item for item in items if item[0]]


def _fetch_item(meta: bytes, literal: bytes) -> tuple[int, frozenset[str], bytes, int | None]:
    uid = _UID.search(meta)
    flags = _FLAGS.search(meta)
    size = _SIZE.search(meta)
    return (
        int(uid.group(1)) if uid else 0,
        frozenset(flags.group(1).decode(errors="replace").split()) if flags else frozenset(),
        literal,
        int(size.group(1)) if size else None,
    )


__all__ = [
    "SENT_FALLBACK_NAMES",
    "decode_mailbox",
    "encode_mailbox",
    "parse_fetch",
    "parse_fetch_sized",
    "parse_list",
    "parse_search",
    "quote",
]
