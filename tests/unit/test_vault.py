"""The vault's promises: AES-256-GCM, row binding, public-only sealing, rotation, clear errors."""

from __future__ import annotations

import base64
import pickle
from pathlib import Path

import pytest

from fluenzr.core.secret import Secret
from fluenzr.errors import VaultError
from fluenzr.vault import Vault, load_keyring, sealed_key_id
from fluenzr.vault.keyring import ensure_keys, generate_keypair, key_id_of, write_keypair

CTX = "account:1:smtp_password"


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    folder = tmp_path / "keys"
    ensure_keys(folder)
    return folder


def test_round_trip_and_unique_ciphertexts(keys: Path) -> None:
    vault = Vault(load_keyring(keys))
    first = vault.seal(Secret("pä55 wörd"), context=CTX)
    second = vault.seal(Secret("pä55 wörd"), context=CTX)
    assert first != second  # fresh data key and nonces each time
    assert vault.open(first, context=CTX).reveal() == "pä55 wörd"
    assert b"p\xc3\xa455" not in first


def test_ciphertext_moved_to_another_row_or_field_fails(keys: Path) -> None:
    vault = Vault(load_keyring(keys))
    sealed = vault.seal(Secret("secret"), context=CTX)
    for other in ("account:2:smtp_password", "account:1:imap_password"):
        with pytest.raises(VaultError) as info:
            vault.open(sealed, context=other)
        assert info.value.code == "vault_open_failed"


def test_tampered_ciphertext_fails(keys: Path) -> None:
    vault = Vault(load_keyring(keys))
    sealed = bytearray(vault.seal(Secret("secret"), context=CTX))
    sealed[-1] ^= 1
    with pytest.raises(VaultError, match="cannot decrypt"):
        vault.open(bytes(sealed), context=CTX)


def test_public_key_only_can_seal_but_not_open(keys: Path) -> None:
    full = Vault(load_keyring(keys))
    web = Vault(load_keyring(keys, read_only=True))
    assert not web.can_open
    sealed = web.seal(Secret("added by the web role"), context=CTX)
    with pytest.raises(VaultError) as info:
        web.open(sealed, context=CTX)
    assert info.value.code == "vault_no_private_key"
    assert full.open(sealed, context=CTX).reveal() == "added by the web role"


def test_keys_from_environment_values(tmp_path: Path) -> None:
    key = generate_keypair()
    folder = tmp_path / "k"
    write_keypair(folder, key, make_current=True)
    private_b64 = base64.b64encode((folder / f"{key_id_of(key.public_key())}.key").read_bytes())
    public_b64 = (folder / "current.pub").read_text()
    sealer = Vault(load_keyring(tmp_path / "none", public_b64=public_b64))
    opener = Vault(
        load_keyring(tmp_path / "none", private_b64=base64.b64decode(private_b64).decode())
    )
    sealed = sealer.seal(Secret("x"), context=CTX)
    assert opener.open(sealed, context=CTX).reveal() == "x"


def test_missing_key_gives_clear_error(keys: Path, tmp_path: Path) -> None:
    sealed = Vault(load_keyring(keys)).seal(Secret("x"), context=CTX)
    other = tmp_path / "other"
    ensure_keys(other)
    with pytest.raises(VaultError) as info:
        Vault(load_keyring(other)).open(sealed, context=CTX)
    assert info.value.code == "vault_key_missing"
    assert f"cannot decrypt credentials: key {sealed_key_id(sealed)} missing" in str(info.value)


def test_garbage_is_an_error_not_a_crash(keys: Path) -> None:
    vault = Vault(load_keyring(keys))
    for junk in (b"", b"FZV1", b"not sealed at all" * 10):
        with pytest.raises(VaultError):
            vault.open(junk, context=CTX)


def test_key_files_are_private(keys: Path) -> None:
    assert keys.stat().st_mode & 0o777 == 0o700
    for path in keys.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600


def test_rewrap_keeps_the_secret_and_changes_the_key(keys: Path) -> None:
    vault = Vault(load_keyring(keys))
    sealed = vault.seal(Secret("s3cret"), context=CTX)
    new = generate_keypair()
    write_keypair(keys, new, make_current=True)
    vault.keyring.private[key_id_of(new.public_key())] = new
    moved = vault.rewrap(sealed, context=CTX)
    assert sealed_key_id(moved) == key_id_of(new.public_key())
    assert moved[-30:] == sealed[-30:]  # the encrypted body is untouched
    assert vault.open(moved, context=CTX).reveal() == "s3cret"


def test_secret_never_renders() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in f"{secret} {secret!r} {secret:>20} {[secret]}"
    with pytest.raises(TypeError):
        pickle.dumps(secret)
