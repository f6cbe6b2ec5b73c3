"""Values as the vault sealed them before endpoint binding (format FZV1, row-only context)."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fluenzr.core.secret import Secret
from fluenzr.vault import Vault
from fluenzr.vault.sealing import _NONCE, MAGIC_V1, _wrap


def seal_v1(vault: Vault, secret: Secret, *, account_id: int, field: str) -> bytes:
    """What the previous release wrote: context ``account:<id>:<field>``, magic ``FZV1``."""
    ctx = f"account:{account_id}:{field}".encode()
    dk = AESGCM.generate_key(bit_length=256)
    envelope = _wrap(dk, vault.keyring.current_public(), ctx, magic=MAGIC_V1)
    nonce = os.urandom(_NONCE)
    return envelope + nonce + AESGCM(dk).encrypt(nonce, secret.reveal().encode(), ctx)
