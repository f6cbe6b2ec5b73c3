"""Issue 10 §1 (migration) and §6: legacy ciphertexts are rebound, rotation never strands one.

- A password sealed by the previous release (format 1, row-only context) is never used to log
  in; ``fluenzr keys rebind`` (also run by the worker at start, and by ``keys rotate``) binds it
  to its endpoint in memory, with no plaintext written anywhere.
- After ``fluenzr keys rotate``, a web role still configured with the previous public key
  refuses to seal (clear error, nothing written); every stored credential stays readable.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select, text

from fluenzr.config import load_settings
from fluenzr.core.secret import Secret
from fluenzr.errors import VaultError
from fluenzr.services.accounts import (
    AccountInput,
    create_account,
    open_credentials,
    update_account,
)
from fluenzr.services.context import AppContext, default_workspace_id, open_app
from fluenzr.services.keys import rebind, rotate
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.vault import sealed_key_id, sealed_version
from tests.support.cli import Cli
from tests.support.legacy_vault import seal_v1

PASSWORD = "Legacy-Pa55word-ñ-7c1e"


def _input(email: str = "ana@example.com", **changes: object) -> AccountInput:
    base: dict[str, object] = {
        "email": email,
        "smtp_host": "mail.example.com",
        "password": Secret(PASSWORD),
        "imap_host": "mail.example.com",
        "imap_password": Secret(PASSWORD + "-imap"),
    }
    return AccountInput(**{**base, **changes})  # type: ignore[arg-type]


def _make_legacy(ctx: AppContext, account_id: int) -> None:
    """Store the row as the previous release did: both passwords in format 1."""
    with transaction(ctx.sessions) as session:
        row = session.get(Account, account_id)
        assert row is not None
        row.smtp_password_sealed = seal_v1(
            ctx.vault, Secret(PASSWORD), account_id=account_id, field="smtp_password"
        )
        row.imap_password_sealed = seal_v1(
            ctx.vault, Secret(PASSWORD + "-imap"), account_id=account_id, field="imap_password"
        )


def _sealed(ctx: AppContext) -> list[bytes]:
    with ctx.sessions() as session:
        rows = session.execute(
            text("SELECT smtp_password_sealed, imap_password_sealed FROM accounts")
        ).all()
    return [bytes(value) for row in rows for value in row if value is not None]


def _no_plaintext_on_disk(ctx: AppContext, home: Path) -> None:
    for blob in _sealed(ctx):
        assert PASSWORD.encode() not in blob
    for path in home.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_legacy_row_is_never_used_then_rebound_by_the_cli(
    app_any_db: AppContext, home: Path, db_url: str
) -> None:
    ws = default_workspace_id(app_any_db.sessions)
    account_id = create_account(app_any_db, workspace_id=ws, data=_input()).id
    _make_legacy(app_any_db, account_id)
    assert {sealed_version(b) for b in _sealed(app_any_db)} == {1}
    with pytest.raises(VaultError) as info:
        open_credentials(app_any_db, account_id=account_id)
    assert info.value.code == "credentials_need_rebind"
    assert "fluenzr keys rebind" in info.value.hint("en")

    result = Cli(home=home, database_url=db_url)("keys", "rebind", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"ok": True, "rebound": 2}
    assert {sealed_version(b) for b in _sealed(app_any_db)} == {2}
    creds = open_credentials(app_any_db, account_id=account_id)
    assert creds.smtp.password.reveal() == PASSWORD
    assert creds.imap is not None and creds.imap.password.reveal() == PASSWORD + "-imap"
    _no_plaintext_on_disk(app_any_db, home)
    assert rebind(app_any_db) == 0  # idempotent

    # Now bound: moving the server behind the service's back makes it unusable.
    with transaction(app_any_db.sessions) as session:
        session.execute(
            text("UPDATE accounts SET smtp_port = 2525 WHERE id = :id"), {"id": account_id}
        )
    with pytest.raises(VaultError) as moved:
        open_credentials(app_any_db, account_id=account_id)
    assert moved.value.code == "credentials_endpoint_changed"


def test_rotate_rebinds_legacy_rows_and_keeps_unopenable_ones(app: AppContext, home: Path) -> None:
    ws = default_workspace_id(app.sessions)
    legacy = create_account(app, workspace_id=ws, data=_input("a@example.com")).id
    moved = create_account(app, workspace_id=ws, data=_input("b@example.com")).id
    fine = create_account(app, workspace_id=ws, data=_input("c@example.com")).id
    _make_legacy(app, legacy)
    old_id = app.vault.keyring.current_id
    with transaction(app.sessions) as session:
        session.execute(text("UPDATE accounts SET smtp_port = 2525 WHERE id = :id"), {"id": moved})

    report = rotate(app)
    assert report.rebound == 2 and report.unopenable == 1  # b's SMTP password cannot open
    assert report.kept == (old_id,) and (home / "keys" / f"{old_id}.key").exists()
    for account_id in (legacy, fine):
        creds = open_credentials(app, account_id=account_id)
        assert creds.smtp.password.reveal() == PASSWORD
    with pytest.raises(VaultError) as info:
        open_credentials(app, account_id=moved)
    assert info.value.code == "credentials_endpoint_changed"
    # The user enters the password again: the next rotation retires the old key.
    update_account(app, workspace_id=ws, account_id=moved, changes={"password": Secret(PASSWORD)})
    again = rotate(app)
    assert again.unopenable == 0 and old_id in again.retired
    assert {sealed_key_id(b) for b in _sealed(app)} == {again.new_key_id}
    _no_plaintext_on_disk(app, home)


def _public_b64(ctx: AppContext) -> str:
    raw = ctx.vault.keyring.current_public().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode()


def _count(ctx: AppContext) -> int:
    with ctx.sessions() as session:
        return int(session.scalar(select(func.count(Account.id))) or 0)


def test_web_role_with_a_stale_public_key_refuses_to_seal(
    app_any_db: AppContext, tmp_path: Path, db_url: str
) -> None:
    sending = app_any_db
    web_home = tmp_path / "web-home"
    web = open_app(
        load_settings(
            home=web_home,
            database_url=db_url,
            vault_read_only=True,
            vault_public_key=_public_b64(sending),
        )
    )
    try:
        ws = default_workspace_id(web.sessions)
        first = create_account(web, workspace_id=ws, data=_input("a@example.com")).id
        report = rotate(sending)  # the web role is not told
        assert report.rewrapped == 2 and report.retired  # nothing used the old key any more

        before = _sealed(sending)
        with pytest.raises(VaultError) as info:
            update_account(
                web, workspace_id=ws, account_id=first, changes={"password": Secret("new one")}
            )
        assert info.value.code == "vault_public_key_stale"
        assert "public key" in info.value.hint("en") and "private" not in info.value.hint("en")
        with pytest.raises(VaultError):
            create_account(web, workspace_id=ws, data=_input("b@example.com"))
        assert _sealed(sending) == before and _count(sending) == 1  # nothing written
        assert open_credentials(sending, account_id=first).smtp.password.reveal() == PASSWORD
        assert not list(web_home.rglob("*.key"))  # the web host never held a private key
    finally:
        web.close()

    fresh = open_app(
        load_settings(
            home=web_home,
            database_url=db_url,
            vault_read_only=True,
            vault_public_key=_public_b64(sending),
        )
    )
    try:  # given the new public key, the web role seals again, and the sender opens it
        made = create_account(fresh, workspace_id=ws, data=_input("b@example.com")).id
        assert open_credentials(sending, account_id=made).smtp.password.reveal() == PASSWORD
    finally:
        fresh.close()


def test_missing_keys_hint_never_points_a_web_host_at_a_private_key(tmp_path: Path) -> None:
    web_home = tmp_path / "web-home"
    with pytest.raises(VaultError) as info:
        open_app(load_settings(home=web_home, vault_read_only=True))
    assert info.value.code == "vault_not_initialised"
    for lang in ("es", "en", "fr"):
        hint = info.value.hint(lang)
        assert "fluenzr init" in hint and "FLUENZR_VAULT_PUBLIC_KEY" in hint
    assert "sending-system host" in info.value.hint("en") and "Never copy a private key" in (
        info.value.hint("en")
    )
    assert not list(web_home.rglob("*.key"))


def test_worker_start_rebinds_legacy_rows(app: AppContext, home: Path) -> None:
    ws = default_workspace_id(app.sessions)
    account_id = create_account(app, workspace_id=ws, data=_input()).id
    _make_legacy(app, account_id)
    result = Cli(home=home)("worker", "--until-idle", "--only", "send")
    assert result.exit_code == 0, result.stderr
    assert {sealed_version(b) for b in _sealed(app)} == {2}
    assert open_credentials(app, account_id=account_id).smtp.password.reveal() == PASSWORD
