"""Vault key ids known to the database, so every role sees a rotation (no shared files).

``fluenzr keys rotate`` records the new key and retires the previous ones; a web role still
configured with a retired public key then refuses to seal instead of writing a value that
the sending system may no longer be able to open.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from fluenzr.storage.base import Base, utcnow


class VaultKey(Base):
    __tablename__ = "vault_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
