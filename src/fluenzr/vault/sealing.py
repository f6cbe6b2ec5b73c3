"""Sealing a secret: an ECIES-style envelope from standard primitives in ``cryptography``.

    sealed = MAGIC(4) | key_id(8) | eph_pub(32) | wrap_nonce(12) | wrapped_dk(48)
             | nonce(12) | AES-256-GCM(dk, secret, aad=context)

* ``MAGIC`` names the format version, which is also the version of the *context* the caller
  bound in: ``FZV1`` values were sealed with a version-1 context (``"account:<id>:<field>"``),
  ``FZV2`` values with the caller's current one (for passwords: their endpoint, see
  ``services.credential_binding``). The magic is part of the key wrap's associated data, so
  it cannot be rewritten to make a value open under an older, weaker context.
* ``dk`` is a fresh random AES-256 data key per secret; the secret is encrypted under it with
  the row's *context* as associated data, so a ciphertext copied to another row or field, or
  left in place after what the context names changed, fails to open.
* ``dk`` is wrapped with AES-256-GCM under a key-encryption key derived by HKDF-SHA256 from an
  X25519 exchange between a fresh ephemeral key and the vault's public key: sealing needs only
  the public key; unwrapping needs the private key.
* Rotation re-wraps ``dk`` for a new key pair; the encrypted secret body is never touched and
  the plaintext never leaves memory.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import VaultError
from fluenzr.vault.keyring import Keyring, key_id_of

MAGIC_V1 = b"FZV1"
MAGIC = b"FZV2"  # what seal() writes
_VERSIONS = {MAGIC_V1: 1, MAGIC: 2}
_KID = 8
_PUB = 32
_NONCE = 12
_WRAPPED = 32 + 16
_HEADER = len(MAGIC) + _KID + _PUB
_PREFIX = _HEADER + _NONCE + _WRAPPED + _NONCE
_INFO = b"fluenzr vault v1 key wrap"


def _kek(shared: bytes, eph_pub: bytes, recipient_pub: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=eph_pub + recipient_pub, info=_INFO
    ).derive(shared)


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _wrap(dk: bytes, recipient: X25519PublicKey, context: bytes, *, magic: bytes) -> bytes:
    eph = X25519PrivateKey.generate()
    eph_pub = _raw(eph.public_key())
    header = magic + bytes.fromhex(key_id_of(recipient)) + eph_pub
    kek = _kek(eph.exchange(recipient), eph_pub, _raw(recipient))
    nonce = os.urandom(_NONCE)
    return header + nonce + AESGCM(kek).encrypt(nonce, dk, header + context)


def sealed_key_id(sealed: bytes) -> str:
    """The key id a sealed value was wrapped for (no key needed)."""
    sealed_version(sealed)
    return sealed[len(MAGIC) : len(MAGIC) + _KID].hex()


def sealed_version(sealed: bytes) -> int:
    """The format (and context) version a value was sealed with: 1 (legacy) or 2."""
    version = _VERSIONS.get(bytes(sealed[: len(MAGIC)]))
    if len(sealed) < _PREFIX + 16 or version is None:
        raise VaultError(ErrorCode.VAULT_CORRUPT)
    return version


class Vault:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    @property
    def can_open(self) -> bool:
        return self.keyring.can_open

    def seal(self, secret: Secret, *, context: str) -> bytes:
        dk = AESGCM.generate_key(bit_length=256)
        ctx = context.encode()
        envelope = _wrap(dk, self.keyring.current_public(), ctx, magic=MAGIC)
        nonce = os.urandom(_NONCE)
        body = AESGCM(dk).encrypt(nonce, secret.reveal().encode("utf-8"), ctx)
        return envelope + nonce + body

    def _unwrap(self, sealed: bytes, ctx: bytes) -> bytes:
        kid = sealed_key_id(sealed)
        if not self.keyring.private:
            raise VaultError(ErrorCode.VAULT_NO_PRIVATE_KEY, params={"key_id": kid})
        private = self.keyring.private_for(kid)
        header = sealed[:_HEADER]
        eph_pub = sealed[len(MAGIC) + _KID : _HEADER]
        wrap_nonce = sealed[_HEADER : _HEADER + _NONCE]
        wrapped = sealed[_HEADER + _NONCE : _HEADER + _NONCE + _WRAPPED]
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        kek = _kek(shared, eph_pub, _raw(private.public_key()))
        try:
            return AESGCM(kek).decrypt(wrap_nonce, wrapped, header + ctx)
        except InvalidTag:
            # from None: InvalidTag carries nothing more than "does not open" (noise).
            raise VaultError(ErrorCode.VAULT_OPEN_FAILED, params={"key_id": kid}) from None

    def open(self, sealed: bytes, *, context: str) -> Secret:
        ctx = context.encode()
        dk = self._unwrap(sealed, ctx)
        nonce = sealed[_PREFIX - _NONCE : _PREFIX]
        try:
            plain = AESGCM(dk).decrypt(nonce, sealed[_PREFIX:], ctx)
        except InvalidTag:
            # from None: InvalidTag carries nothing more than "does not open" (noise).
            raise VaultError(
                ErrorCode.VAULT_OPEN_FAILED, params={"key_id": sealed_key_id(sealed)}
            ) from None
        return Secret(plain.decode("utf-8"))

    def rewrap(self, sealed: bytes, *, context: str) -> bytes:
        """The same secret, wrapped for the current public key; the body and version are kept."""
        ctx = context.encode()
        dk = self._unwrap(sealed, ctx)
        magic = bytes(sealed[: len(MAGIC)])
        envelope = _wrap(dk, self.keyring.current_public(), ctx, magic=magic)
        return envelope + sealed[_PREFIX - _NONCE :]

    def rebind(self, sealed: bytes, *, old_context: str, context: str) -> bytes:
        """The same secret sealed afresh (current key, current version) under a new context.

        The plaintext exists only in memory, for the time of the call.
        """
        return self.seal(self.open(sealed, context=old_context), context=context)
