"""The credential vault: AES-256-GCM secrets under X25519 envelope keys.

See :mod:`fluenzr.vault.sealing` for the construction and :mod:`fluenzr.vault.keyring` for
where keys live. A :class:`Vault` built with only the public key can seal (add or replace a
credential) but never open one: that is the web role. The sending system holds private keys.
"""

from fluenzr.vault.keyring import Keyring, generate_keypair, key_id_of, load_keyring
from fluenzr.vault.sealing import Vault, sealed_key_id, sealed_version

__all__ = [
    "Keyring",
    "Vault",
    "generate_keypair",
    "key_id_of",
    "load_keyring",
    "sealed_key_id",
    "sealed_version",
]
