"""Which vault keys may still be sealed for, shared through the database by every role.

The web role holds only a public key, copied from the sending system. After ``fluenzr keys
rotate`` a web role not yet given the new key would keep sealing for the old one, whose
private key rotation deletes once nothing uses it — a credential nobody could ever open. So
rotation records the key ids in ``vault_keys`` (new one current, previous ones retired), and
every seal checks, in the transaction that writes it, that its key is not retired.

Both sides take row locks in the same order (the web's seal holds its key's row until commit;
rotation's retirement waits for it), so a seal either commits before retirement — and
rotation's re-wrap pass, which starts after, sees it — or sees the retirement and refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import VaultError
from fluenzr.storage.base import utcnow
from fluenzr.storage.models.vault import VaultKey
from fluenzr.vault import sealed_key_id


def _upsert(session: Session, key_id: str, *, retired_at: datetime | None, update: bool) -> None:
    dialect = session.get_bind().dialect.name
    values = {"key_id": key_id, "created_at": utcnow(), "retired_at": retired_at}
    if dialect == "postgresql":
        pg = postgresql.insert(VaultKey).values(**values)
        session.execute(
            pg.on_conflict_do_update(index_elements=["key_id"], set_={"retired_at": retired_at})
            if update
            else pg.on_conflict_do_nothing(index_elements=["key_id"])
        )
        return
    lite = sqlite.insert(VaultKey).values(**values)
    session.execute(
        lite.on_conflict_do_update(index_elements=["key_id"], set_={"retired_at": retired_at})
        if update
        else lite.on_conflict_do_nothing(index_elements=["key_id"])
    )


def ensure_sealing_key_current(session: Session, sealed: Iterable[bytes]) -> None:
    """Refuse (roll back) values sealed for a retired key. Call after writing them."""
    session.flush()
    for key_id in sorted({sealed_key_id(value) for value in sealed}):
        _upsert(session, key_id, retired_at=None, update=False)
        query = select(VaultKey.retired_at).where(VaultKey.key_id == key_id)
        if session.scalar(query.with_for_update(read=True)) is not None:
            raise VaultError(ErrorCode.VAULT_PUBLIC_KEY_STALE, params={"key_id": key_id})


def record_rotation(session: Session, *, new_id: str, old_ids: Iterable[str]) -> None:
    """The new key is current; every previous one may no longer be sealed for."""
    now = utcnow()
    _upsert(session, new_id, retired_at=None, update=True)
    for key_id in sorted(set(old_ids) - {new_id}):
        _upsert(session, key_id, retired_at=now, update=True)
