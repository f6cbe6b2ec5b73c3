"""The header block of the test mail, split without a full MIME parse (bounded, linear).

Fields are unfolded (RFC 5322 §2.2.3) and returned in order, most recent trace field first as
the message carries them. Anything past the caps is ignored: a hostile server's message cannot
make the checks slow.
"""

from __future__ import annotations

from email.utils import getaddresses

MAX_MESSAGE_BYTES = 512 * 1024  # what Probar fetches of its test mail
MAX_HEADER_BYTES = 128 * 1024
MAX_FIELDS = 500
MAX_FIELD_CHARS = 16 * 1024


def header_fields(raw: bytes) -> list[tuple[str, str]]:
    """``[(lower-case name, unfolded value), …]`` of the message's header block."""
    block = raw[:MAX_HEADER_BYTES]
    end = block.find(b"\r\n\r\n")
    if end < 0:
        end = block.find(b"\n\n")
    if end >= 0:
        block = block[:end]
    fields: list[tuple[str, str]] = []
    for line in block.decode("utf-8", "replace").replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and fields:
            name, value = fields[-1]
            if len(value) < MAX_FIELD_CHARS:
                fields[-1] = (name, (value + " " + line.strip())[:MAX_FIELD_CHARS])
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or " " in name:
            continue
        if len(fields) >= MAX_FIELDS:
            break
        fields.append((name.strip().lower(), value.strip()[:MAX_FIELD_CHARS]))
    return fields


def values(fields: list[tuple[str, str]], name: str) -> list[str]:
    return [v for n, v in fields if n == name]


def from_domain(fields: list[tuple[str, str]]) -> str | None:
    """The domain of the (single) From address."""
    found = values(fields, "from")
    if len(found) != 1:
        return None
    addresses = getaddresses([found[0][:2000]])
    if len(addresses) != 1 or "@" not in addresses[0][1]:
        return None
    return addresses[0][1].rsplit("@", 1)[1].lower().rstrip(">")
