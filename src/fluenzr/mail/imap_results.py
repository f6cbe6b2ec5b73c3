"""Values the IMAP transport returns, and reading them out of aioimaplib responses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fluenzr.core import linear_re

_EXISTS = linear_re.compile(rb"(\d+) EXISTS")
_UIDVALIDITY = linear_re.compile(rb"UIDVALIDITY (\d+)")
_UIDNEXT = linear_re.compile(rb"UIDNEXT (\d+)")


@dataclass(frozen=True)
class Folder:
    name: str  # decoded (UTF-8) name, as users see it
    raw: str  # the name as the server spells it (modified UTF-7), for commands
    flags: frozenset[str]
    delimiter: str | None


@dataclass(frozen=True)
class FolderStatus:
    name: str
    exists: int
    uidvalidity: int | None
    uidnext: int | None
    read_only: bool


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    flags: frozenset[str]
    data: bytes  # the fetched body section (whole message for BODY.PEEK[])
    size: int | None = None  # RFC822.SIZE, when the FETCH asked for it


def folder_status(name: str, lines: Sequence[Any], *, read_only: bool) -> FolderStatus:
    text = b"\n".join(bytes(line) for line in lines)
    exists = _EXISTS.search(text)
    validity = _UIDVALIDITY.search(text)
    uidnext = _UIDNEXT.search(text)
    return FolderStatus(
        name,
        int(exists.group(1)) if exists else 0,
        int(validity.group(1)) if validity else None,
        int(uidnext.group(1)) if uidnext else None,
        read_only,
    )


def response_text(response: Any) -> str:
    lines = [bytes(line).decode(errors="replace") for line in response.lines]
    return " ".join(lines)[:300]


__all__ = ["FetchedMessage", "Folder", "FolderStatus", "folder_status", "response_text"]
