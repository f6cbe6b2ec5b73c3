"""`fluenzr keys rotate`: re-wrap every sealed secret for a new key pair, online.

Order matters for running processes: (1) the new private key is written first, so any sending
process can open secrets wrapped for it (keyrings reload unknown key ids from the folder);
(2) the new public key becomes current, so every process seals new secrets for it (keyrings
re-read ``current.pub``); (3) each sealed value is re-wrapped in its own short transaction —
only the data key's wrapping changes, the plaintext never leaves memory; (4) old private keys
are deleted only when no stored value still refers to them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import VaultError
from fluenzr.vault.keyring import generate_keypair, write_keypair
from fluenzr.vault.sealing import Vault, sealed_key_id


@dataclass(frozen=True)
class SealedColumn:
    """A column holding sealed bytes, and how to build its associated-data context per row."""

    column: InstrumentedAttribute[Any]
    context: Callable[[Any], str]


@dataclass(frozen=True)
class RotationReport:
    new_key_id: str
    rewrapped: int
    retired: tuple[str, ...]
    kept: tuple[str, ...]


def _rows(session: Session, sealed: SealedColumn) -> Iterator[Any]:
    model = sealed.column.class_
    query = select(model).where(sealed.column.is_not(None))
    yield from session.scalars(query.execution_options(yield_per=200))


def _rewrap_all(
    vault: Vault, sessions: sessionmaker[Session], columns: list[SealedColumn], new_id: str
) -> tuple[int, set[str]]:
    count = 0
    still_used: set[str] = set()
    for sealed in columns:
        name = sealed.column.key
        model: Any = sealed.column.class_
        with sessions() as reader:
            ids = [row.id for row in _rows(reader, sealed)]
        for row_id in ids:
            with sessions() as session, session.begin():
                row = session.get(model, row_id, with_for_update=True)
                value = getattr(row, name) if row is not None else None
                if not value:
                    continue
                if sealed_key_id(value) != new_id:
                    setattr(row, name, vault.rewrap(value, context=sealed.context(row)))
                    count += 1
                still_used.add(sealed_key_id(getattr(row, name)))
    return count, still_used


def rotate_keys(
    vault: Vault, sessions: sessionmaker[Session], *, folder: Path, columns: list[SealedColumn]
) -> RotationReport:
    if vault.keyring.folder is None or not vault.can_open:
        raise VaultError(ErrorCode.VAULT_ROTATE_NEEDS_FILES, params={"path": str(folder)})
    old_ids = set(vault.keyring.private)
    new_key = generate_keypair()
    write_keypair(folder, new_key, make_current=False)
    new_id = write_keypair(folder, new_key, make_current=True)
    vault.keyring.private[new_id] = new_key
    vault.keyring.public = new_key.public_key()
    count, still_used = _rewrap_all(vault, sessions, columns, new_id)
    retired, kept = [], []
    for old in sorted(old_ids - {new_id}):
        if old in still_used:
            kept.append(old)
            continue
        (folder / f"{old}.key").unlink(missing_ok=True)
        vault.keyring.private.pop(old, None)
        retired.append(old)
    return RotationReport(new_id, count, tuple(retired), tuple(kept))
