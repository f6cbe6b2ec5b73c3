"""Hard limits on incoming mail, checked before the stdlib parser ever sees it.

Anyone on the internet can mail a connected mailbox. The stdlib parser recurses once per MIME
level (5,000 nested multiparts raise ``RecursionError``) and its cost grows faster than the
input; a message beyond any limit here is not parsed at all but recorded as an ``unparseable``
event with the limit's code, and the watcher moves on. Every check is one linear pass over the
fetched bytes. Limits are :class:`~fluenzr.detection.config.DetectionConfig` fields
(``FLUENZR_DETECT_MAX_*``), documented in docs/detection.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.message import content_type

# Reason codes of an ``unparseable`` event (stable: the UI and webhooks show them).
TOO_LARGE = "too_large"
HEADER_SIZE = "header_size"
HEADER_COUNT = "header_count"
HEADER_LENGTH = "header_length"
MIME_PARTS = "mime_parts"
MIME_DEPTH = "mime_depth"
TIME_BUDGET = "time_budget"
CLASSIFY_ERROR = "classify_error"
PROCESSING_ERROR = "processing_error"
REASONS = (
    TOO_LARGE,
    HEADER_SIZE,
    HEADER_COUNT,
    HEADER_LENGTH,
    MIME_PARTS,
    MIME_DEPTH,
    TIME_BUDGET,
    CLASSIFY_ERROR,
    PROCESSING_ERROR,
)


@dataclass(frozen=True)
class Unparseable:
    """Why a message was quarantined: a reason code, a bounded detail (no message text)."""

    reason: str
    detail: str = ""
    size: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"reason": self.reason, "detail": self.detail[:200], "size": self.size}


def check_size(size: int | None, config: DetectionConfig) -> Unparseable | None:
    """RFC822.SIZE from the header fetch: too large messages are never fetched."""
    if size is not None and size > config.max_message_bytes:
        return Unparseable(TOO_LARGE, f"{size} > {config.max_message_bytes}", size=size)
    return None


def check_raw(raw: bytes, config: DetectionConfig) -> Unparseable | None:
    """The limits a raw message (or header block) breaks, before any parsing."""
    size = len(raw)
    if size > config.max_message_bytes:
        return Unparseable(TOO_LARGE, f"{size} > {config.max_message_bytes}", size=size)
    found = _check_header_block(raw, config)
    if found is not None:
        return Unparseable(found.reason, found.detail, size=size)
    lowered = raw.lower()
    # Each container is one level of the parser's recursion at worst (an upper bound of the
    # depth: siblings count too, which legitimate mail never has many of).
    containers = lowered.count(b"multipart/") + lowered.count(b"message/rfc822")
    if containers > config.max_mime_depth:
        return Unparseable(MIME_DEPTH, f"{containers} > {config.max_mime_depth}", size=size)
    parts = lowered.count(b"content-type:")
    if parts > config.max_mime_parts:
        return Unparseable(MIME_PARTS, f"{parts} > {config.max_mime_parts}", size=size)
    return None


def _check_header_block(raw: bytes, config: DetectionConfig) -> Unparseable | None:
    end = _header_end(raw, limit=config.max_header_bytes + 4)
    if end is None:
        if len(raw) > config.max_header_bytes:
            return Unparseable(HEADER_SIZE, f"> {config.max_header_bytes}")
        end = len(raw)
    if end > config.max_header_bytes:
        return Unparseable(HEADER_SIZE, f"{end} > {config.max_header_bytes}")
    count = 0
    length = 0
    for line in raw[:end].split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            length += len(line)  # a folded continuation belongs to the field above
        else:
            count += 1
            length = len(line)
        if length > config.max_header_length:
            return Unparseable(HEADER_LENGTH, f"> {config.max_header_length}")
    if count > config.max_headers:
        return Unparseable(HEADER_COUNT, f"{count} > {config.max_headers}")
    return None


def _header_end(raw: bytes, *, limit: int) -> int | None:
    """Offset of the blank line that ends the header block, if within ``limit`` bytes."""
    window = raw[:limit]
    ends = [i for i in (window.find(b"\r\n\r\n"), window.find(b"\n\n")) if i >= 0]
    return min(ends) if ends else None


def check_tree(msg: Message, config: DetectionConfig) -> Unparseable | None:
    """The parsed message's real nesting depth and part count (iterative: never recurses)."""
    stack: list[tuple[Message, int]] = [(msg, 1)]
    parts = 0
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > config.max_mime_parts:
            return Unparseable(MIME_PARTS, f"> {config.max_mime_parts}")
        if depth > config.max_mime_depth:
            return Unparseable(MIME_DEPTH, f"> {config.max_mime_depth}")
        if not (content_type(part).startswith(("multipart/", "message/"))):
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((p, depth + 1) for p in payload if isinstance(p, Message))
    return None
