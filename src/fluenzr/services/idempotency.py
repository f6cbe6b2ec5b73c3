"""Idempotency keys for enqueueing mail (draft-ietf-httpapi-idempotency-key-header).

A client that retries ``POST /api/v1/outbox`` (or ``fluenzr send``) with the same key and the
same request gets the message the first attempt created, never a second one. This module holds
the key rules: validation, the request fingerprint, lookup, the claim row and the purge of
expired keys. The outbox service writes the claim row in the transaction that writes the
message, so the unique (workspace, key) constraint decides a race between two identical
requests: exactly one commits, the other reads the winner's message. It runs on SQLAlchemy Core
(the table described in :mod:`fluenzr.storage.outbox_tables`): ``fluenzr send`` never imports
the ORM.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text
from sqlalchemy.exc import OperationalError

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ConflictError, ValidationError
from fluenzr.storage.outbox_tables import idempotency_keys

MAX_KEY_LENGTH = 255
# The draft leaves the retention to the server; ours is documented as "at least 24 hours".
RETENTION = timedelta(hours=24)
# How long a request waits on PostgreSQL for an identical one still in its transaction before
# answering 409 (the draft's "request is still being processed").
IN_FLIGHT_WAIT_MS = 5000
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL SQLSTATE raised when lock_timeout expires


def _invalid() -> ValidationError:
    return ValidationError(
        ErrorCode.IDEMPOTENCY_KEY_INVALID,
        params={"field": "idempotency_key", "max": MAX_KEY_LENGTH},
    )


def _unquote(value: str) -> str:
    """An RFC 9651 sf-string (``"abc"``, ``\\"`` and ``\\\\`` escapes) to its content."""
    if len(value) < 2 or not value.endswith('"'):
        raise _invalid()
    out: list[str] = []
    chars = iter(value[1:-1])
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            if escaped not in ('"', "\\"):
                raise _invalid()
            out.append(escaped)
        elif char == '"':
            raise _invalid()
        else:
            out.append(char)
    return "".join(out)


def normalise_key(raw: str) -> str:
    """The key as stored: an sf-string per the draft, or (as most clients send it) a bare token.

    1 to 255 printable ASCII characters; anything else is refused before any work is done.
    """
    if len(raw) > 2 * MAX_KEY_LENGTH + 2:  # bound the work on a huge header before parsing it
        raise _invalid()
    value = raw.strip(" \t")
    if value.startswith('"'):
        value = _unquote(value)
    if not value.strip() or len(value) > MAX_KEY_LENGTH:
        raise _invalid()
    if any(not (0x20 <= ord(char) <= 0x7E) for char in value):
        raise _invalid()
    return value


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def fingerprint(request: Any) -> str:
    """SHA-256 of the parsed request (a dataclass) as canonical JSON.

    Computed from the parsed request, not the raw bytes: key order, whitespace and omitted
    defaults do not make two requests different, any changed value does.
    """
    data = dataclasses.asdict(request)
    encoded = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_canonical
    )
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def purge_expired(engine: Engine, *, now: datetime) -> None:
    """Forget keys older than the retention (lazily, on the next keyed request)."""
    with engine.begin() as connection:
        connection.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < now - RETENTION)
        )


def find(connection: Connection, *, workspace_id: int, key: str, fingerprint: str) -> int | None:
    """The outbox id a previous request with this key created, or None.

    The same key with a different request is the draft's 422: the client has a bug, and
    answering with the first message would hide it.
    """
    keys = idempotency_keys.c
    query = select(keys.fingerprint, keys.outbox_id).where(
        keys.workspace_id == workspace_id, keys.key == key
    )
    row = connection.execute(query).first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise ValidationError(ErrorCode.IDEMPOTENCY_KEY_REUSED, params={"field": "idempotency_key"})
    return int(row.outbox_id)


def claim(
    connection: Connection,
    *,
    workspace_id: int,
    key: str,
    fingerprint: str,
    outbox_id: int,
    now: datetime,
) -> None:
    """Insert the key row in the caller's transaction (IntegrityError: another request won).

    On PostgreSQL an identical request still in its transaction holds the unique index entry:
    wait for it a bounded time, then answer 409 instead of holding a connection indefinitely.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL lock_timeout = {int(IN_FLIGHT_WAIT_MS)}"))
    row = {
        "workspace_id": workspace_id,
        "key": key,
        "fingerprint": fingerprint,
        "outbox_id": outbox_id,
        "created_at": now,
    }
    try:
        connection.execute(insert(idempotency_keys), row)
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise in_flight() from exc
        raise


def in_flight() -> ConflictError:
    return ConflictError(ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT, params={"field": "idempotency_key"})


__all__ = [
    "MAX_KEY_LENGTH",
    "RETENTION",
    "claim",
    "find",
    "fingerprint",
    "in_flight",
    "normalise_key",
    "purge_expired",
]
