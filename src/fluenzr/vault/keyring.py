"""Where the vault's X25519 keys come from: key files in the home, or FLUENZR_* variables.

Layout of ``<home>/keys`` (folder 0700, files 0600):
  ``current.pub``      base64 public key that new secrets are sealed for
  ``<key_id>.key``     base64 private key, one file per key id (old ones stay until rotated out)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ConfigError, VaultError

PUBLIC_FILE = "current.pub"


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_private(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def key_id_of(public: X25519PublicKey) -> str:
    """16 hex chars naming a key pair; stored in every ciphertext header."""
    return hashlib.sha256(_raw_public(public)).hexdigest()[:16]


def generate_keypair() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def _decode_b64(value: str, *, setting: str, size: int = 32) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        # from None: the input is key material; the decoder's error adds nothing (noise).
        raise ConfigError(params={"setting": setting, "problem": "not valid base64"}) from None
    if len(raw) != size:
        raise ConfigError(params={"setting": setting, "problem": f"must be {size} bytes"})
    return raw


@dataclass
class Keyring:
    """The current public key plus every private key this process may use."""

    public: X25519PublicKey
    private: dict[str, X25519PrivateKey] = field(default_factory=dict)
    folder: Path | None = None
    public_path: Path | None = None
    _public_mtime: float = 0.0

    def current_public(self) -> X25519PublicKey:
        """The public key to seal for, re-read when `fluenzr keys rotate` replaced the file."""
        if self.public_path is not None:
            try:
                mtime = self.public_path.stat().st_mtime
            except OSError:
                return self.public
            if mtime != self._public_mtime:
                raw = _decode_b64(self.public_path.read_text(), setting=str(self.public_path))
                self.public = X25519PublicKey.from_public_bytes(raw)
                self._public_mtime = mtime
        return self.public

    @property
    def current_id(self) -> str:
        return key_id_of(self.public)

    @property
    def can_open(self) -> bool:
        return bool(self.private)

    def private_for(self, key_id: str) -> X25519PrivateKey:
        key = self.private.get(key_id)
        if key is None and self.folder is not None:
            # Another process may have rotated keys since we loaded them.
            self._reload_private(key_id)
            key = self.private.get(key_id)
        if key is None:
            raise VaultError(ErrorCode.VAULT_KEY_MISSING, params={"key_id": key_id})
        return key

    def _reload_private(self, key_id: str) -> None:
        assert self.folder is not None
        path = self.folder / f"{key_id}.key"
        if path.exists():
            raw = _decode_b64(path.read_text(), setting=str(path))
            self.private[key_id] = X25519PrivateKey.from_private_bytes(raw)


def _write_secret_file(path: Path, data: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def write_keypair(folder: Path, key: X25519PrivateKey, *, make_current: bool) -> str:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    kid = key_id_of(key.public_key())
    _write_secret_file(folder / f"{kid}.key", base64.b64encode(_raw_private(key)).decode())
    if make_current:
        tmp = folder / (PUBLIC_FILE + ".tmp")
        _write_secret_file(tmp, base64.b64encode(_raw_public(key.public_key())).decode())
        os.replace(tmp, folder / PUBLIC_FILE)
    return kid


def ensure_keys(folder: Path) -> None:
    """Generate the first key pair on first run (idempotent)."""
    if not (folder / PUBLIC_FILE).exists():
        write_keypair(folder, generate_keypair(), make_current=True)


def load_keyring(
    folder: Path,
    *,
    public_b64: str | None = None,
    private_b64: str | None = None,
    read_only: bool = False,
) -> Keyring:
    """Keys from variables when given, else from ``folder``; ``read_only`` never loads privates."""
    private: dict[str, X25519PrivateKey] = {}
    if private_b64 and not read_only:
        for item in private_b64.split(","):
            if item.strip():
                raw = _decode_b64(item, setting="FLUENZR_VAULT_PRIVATE_KEYS")
                key = X25519PrivateKey.from_private_bytes(raw)
                private[key_id_of(key.public_key())] = key
    if public_b64:
        public = X25519PublicKey.from_public_bytes(
            _decode_b64(public_b64, setting="FLUENZR_VAULT_PUBLIC_KEY")
        )
        return Keyring(public=public, private=private, folder=None)
    pub_path = folder / PUBLIC_FILE
    if not pub_path.exists():
        if private:
            # Variables gave private keys only: seal for the newest (last listed).
            last = list(private.values())[-1]
            return Keyring(public=last.public_key(), private=private, folder=None)
        raise VaultError(ErrorCode.VAULT_NOT_INITIALISED, params={"path": str(folder)})
    public = X25519PublicKey.from_public_bytes(
        _decode_b64(pub_path.read_text(), setting=str(pub_path))
    )
    if not read_only and not private_b64:
        for path in sorted(folder.glob("*.key")):
            raw = _decode_b64(path.read_text(), setting=str(path))
            key = X25519PrivateKey.from_private_bytes(raw)
            private[key_id_of(key.public_key())] = key
    keyring = Keyring(
        public=public,
        private=private,
        folder=None if read_only or private_b64 else folder,
        public_path=pub_path,
    )
    keyring._public_mtime = pub_path.stat().st_mtime
    return keyring
