"""The endpoint context a password is sealed with: canonical, versioned, every field counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fluenzr.core.secret import Secret
from fluenzr.errors import VaultError
from fluenzr.services.credential_binding import (
    CONTEXT_TAG,
    endpoint_context,
    legacy_context,
    may_reuse_smtp_password,
)
from fluenzr.vault import Vault, load_keyring, sealed_version
from fluenzr.vault.keyring import ensure_keys
from fluenzr.vault.sealing import MAGIC, MAGIC_V1
from tests.support.legacy_vault import seal_v1

BASE: dict[str, Any] = {
    "account_id": 7,
    "field": "smtp_password",
    "host": "smtp.example.com",
    "port": 587,
    "security": "starttls",
    "username": "ana@example.com",
    "pin_sha256": None,
    "ca_material": None,
}
CHANGES: dict[str, Any] = {
    "account_id": 8,
    "field": "imap_password",
    "host": "evil.example.net",
    "port": 2587,
    "security": "ssl",
    "username": "ana@evil.example.net",
    "pin_sha256": "ab" * 32,
    "ca_material": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
}


def test_every_bound_field_changes_the_context() -> None:
    base = endpoint_context(**BASE)
    seen = {base}
    for name, value in CHANGES.items():
        changed = endpoint_context(**{**BASE, name: value})
        assert changed != base, name
        seen.add(changed)
    assert len(seen) == len(CHANGES) + 1
    # another CA, another pin: each a different context too
    other_ca = endpoint_context(**{**BASE, "ca_material": CHANGES["ca_material"] + "x"})
    assert other_ca not in seen


def test_context_is_versioned_canonical_json() -> None:
    text = endpoint_context(**{**BASE, "ca_material": "PEM"})
    tag, _, body = text.partition("\n")
    assert tag == CONTEXT_TAG
    data = json.loads(body)
    assert body == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert data["host"] == "smtp.example.com" and data["port"] == 587
    assert len(data["tls"]["ca_sha256"]) == 64 and "PEM" not in body  # a digest, not the CA
    assert legacy_context(7, "smtp_password") == "account:7:smtp_password"


def test_no_field_can_smuggle_another() -> None:
    # A host that looks like the encoding of other fields stays one quoted value.
    tricky = endpoint_context(**{**BASE, "host": 'a","port":25,"x":"'})
    assert tricky != endpoint_context(**{**BASE, "host": "a", "port": 25})
    assert json.loads(tricky.partition("\n")[2])["port"] == 587


@pytest.mark.parametrize(
    ("smtp", "imap", "provider", "allowed"),
    [
        ("mail.example.com", "mail.example.com", "custom", True),
        ("smtp.zoho.eu", "imap.zoho.eu", "zoho-eu", True),  # the preset lists both
        ("smtp.zoho.eu", "imap.evil.example", "zoho-eu", False),
        ("smtp.example.com", "imap.example.com", "custom", False),
        ("smtp.zoho.eu", "imap.zoho.eu", "custom", False),
        ("smtp.zoho.eu", "imap.zoho.eu", "no-such-preset", False),
        ("smtp.zoho.eu", "imap.zoho.com", "zoho-eu", False),
    ],
)
def test_imap_reuses_the_smtp_password_only_on_the_same_server(
    smtp: str, imap: str, provider: str, allowed: bool
) -> None:
    assert may_reuse_smtp_password(smtp_host=smtp, imap_host=imap, provider=provider) is allowed


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    ensure_keys(tmp_path / "keys")
    return Vault(load_keyring(tmp_path / "keys"))


def test_new_seals_are_version_2_and_rebind_moves_a_legacy_value(vault: Vault) -> None:
    new_ctx = endpoint_context(**BASE)
    sealed = vault.seal(Secret("pw"), context=new_ctx)
    assert sealed.startswith(MAGIC) and sealed_version(sealed) == 2
    old = seal_v1(vault, Secret("pw"), account_id=7, field="smtp_password")
    assert old.startswith(MAGIC_V1) and sealed_version(old) == 1
    rebound = vault.rebind(old, old_context=legacy_context(7, "smtp_password"), context=new_ctx)
    assert sealed_version(rebound) == 2
    assert vault.open(rebound, context=new_ctx).reveal() == "pw"
    assert sealed_version(vault.rewrap(old, context=legacy_context(7, "smtp_password"))) == 1


def test_version_cannot_be_downgraded(vault: Vault) -> None:
    """Rewriting FZV2 as FZV1 (to be opened with the weaker row-only context) fails."""
    sealed = vault.seal(Secret("pw"), context=legacy_context(7, "smtp_password"))
    forged = MAGIC_V1 + sealed[len(MAGIC) :]
    with pytest.raises(VaultError) as info:
        vault.open(forged, context=legacy_context(7, "smtp_password"))
    assert info.value.code == "vault_open_failed"


def test_changed_endpoint_does_not_open(vault: Vault) -> None:
    sealed = vault.seal(Secret("pw"), context=endpoint_context(**BASE))
    for name, value in CHANGES.items():
        with pytest.raises(VaultError):
            vault.open(sealed, context=endpoint_context(**{**BASE, name: value}))
