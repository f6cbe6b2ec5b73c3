"""`fluenzr keys rotate` and `fluenzr keys rebind`: re-wrap sealed secrets, online.

Order matters for running processes: (1) the new private key is written first, so any sending
process can open secrets wrapped for it (keyrings reload unknown key ids from the folder);
(2) the new public key becomes current, so every process seals new secrets for it (keyrings
re-read ``current.pub``); (3) the caller records the rotation where every role sees it (web
roles still holding the old public key then refuse to seal, see ``services.seal_keys``);
(4) each sealed value is re-wrapped in its own short transaction — only the data key's
wrapping changes, the plaintext never leaves memory; (5) old private keys are deleted only
when no stored value still refers to them.

A column may name a *legacy* context: values sealed with format version 1 were bound to it,
and are rebound (opened with it, sealed again with the current context, in memory) instead.
A value that opens under neither (its row was changed behind the service's back) is left as
it is and counted in ``unopenable``; its key is then kept.
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
from fluenzr.vault.sealing import Vault, sealed_key_id, sealed_version


@dataclass(frozen=True)
class SealedColumn:
    """A column holding sealed bytes, and how to build its associated-data context per row."""

    column: InstrumentedAttribute[Any]
    context: Callable[[Any], str]
    legacy: Callable[[Any], str] | None = None  # the context of format-1 values, if different


@dataclass(frozen=True)
class RotationReport:
    new_key_id: str
    rewrapped: int
    retired: tuple[str, ...]
    kept: tuple[str, ...]
    rebound: int = 0
    unopenable: int = 0


@dataclass
class _Pass:
    rewrapped: int = 0
    rebound: int = 0
    unopenable: int = 0
    still_used: set[str] | None = None


def _rows(session: Session, sealed: SealedColumn) -> Iterator[Any]:
    model = sealed.column.class_
    query = select(model).where(sealed.column.is_not(None))
    yield from session.scalars(query.execution_options(yield_per=200))


def _renew(vault: Vault, sealed: SealedColumn, row: Any, value: bytes, *, to_id: str | None) -> str:
    """What to do with one value: 'rebound', 'rewrapped' or '' (already fine)."""
    if sealed.legacy is not None and sealed_version(value) < 2:
        new = vault.rebind(value, old_context=sealed.legacy(row), context=sealed.context(row))
        setattr(row, sealed.column.key, new)
        return "rebound"
    if to_id is not None and sealed_key_id(value) != to_id:
        setattr(row, sealed.column.key, vault.rewrap(value, context=sealed.context(row)))
        return "rewrapped"
    return ""


def _pass(
    vault: Vault, sessions: sessionmaker[Session], columns: list[SealedColumn], to_id: str | None
) -> _Pass:
    """Every sealed value: rebind legacy ones, re-wrap for ``to_id`` (None: rebind only)."""
    result = _Pass(still_used=set())
    assert result.still_used is not None
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
                try:
                    done = _renew(vault, sealed, row, value, to_id=to_id)
                except VaultError as exc:
                    if exc.code is not ErrorCode.VAULT_OPEN_FAILED:
                        raise
                    result.unopenable += 1
                    done = ""
                result.rewrapped += done == "rewrapped"
                result.rebound += done == "rebound"
                result.still_used.add(sealed_key_id(getattr(row, name)))
    return result


def rebind_legacy(
    vault: Vault, sessions: sessionmaker[Session], *, columns: list[SealedColumn]
) -> int:
    """Seal every format-1 value again under its column's current context; how many."""
    if not vault.can_open:
        raise VaultError(
            ErrorCode.VAULT_NO_PRIVATE_KEY, params={"key_id": vault.keyring.current_id}
        )
    return _pass(vault, sessions, columns, None).rebound


def rotate_keys(
    vault: Vault,
    sessions: sessionmaker[Session],
    *,
    folder: Path,
    columns: list[SealedColumn],
    on_new_key: Callable[[str, set[str]], None] | None = None,
) -> RotationReport:
    if vault.keyring.folder is None or not vault.can_open:
        raise VaultError(ErrorCode.VAULT_ROTATE_NEEDS_FILES, params={"path": str(folder)})
    old_ids = set(vault.keyring.private)
    new_key = generate_keypair()
    write_keypair(folder, new_key, make_current=False)
    new_id = write_keypair(folder, new_key, make_current=True)
    vault.keyring.private[new_id] = new_key
    vault.keyring.public = new_key.public_key()
    if on_new_key is not None:
        on_new_key(new_id, old_ids)
    done = _pass(vault, sessions, columns, new_id)
    still_used = done.still_used or set()
    retired, kept = [], []
    for old in sorted(old_ids - {new_id}):
        if old in still_used:
            kept.append(old)
            continue
        (folder / f"{old}.key").unlink(missing_ok=True)
        vault.keyring.private.pop(old, None)
        retired.append(old)
    return RotationReport(
        new_id, done.rewrapped, tuple(retired), tuple(kept), done.rebound, done.unopenable
    )
