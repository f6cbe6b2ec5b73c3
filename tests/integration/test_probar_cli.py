"""`fluenzr accounts test` and `fluenzr autodetect` as a user runs them (Typer's runner, real
Postfix + Dovecot for Probar, presets for autodetect so nothing leaves the machine)."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import email_validator
import pytest

from fluenzr.cli import autodetect as autodetect_cli
from fluenzr.config import load_settings
from fluenzr.core.endpoints import Security
from fluenzr.core.secret import Secret
from fluenzr.diagnose.autodetect import Detection
from fluenzr.diagnose.candidates import Confidence, ServerProposal, Source
from fluenzr.i18n import use_language
from fluenzr.services.accounts import AccountInput, create_account
from fluenzr.services.context import default_workspace_id, open_app
from tests.support.cli import Cli
from tests.support.mailservers import (
    CA_FILE,
    IMAPS_PORT,
    SERVER_CERT_FILE,
    SUBMISSION_PORT,
    MailUser,
    ca_pem,
    create_user,
)

ENV = {"FLUENZR_SMTP_TIMEOUT": "5", "FLUENZR_TEST_MAIL_WAIT": "10", "FLUENZR_PROBE_TIMEOUT": "1"}


@pytest.fixture
def cli(home: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)  # fluenzr.test addresses
    return Cli(home=home)


def add_account(home: Path, user: MailUser, password: str, *, ca_file: str | None = CA_FILE) -> int:
    ctx = open_app(load_settings(home=home))
    try:
        data = AccountInput(
            email=user.email,
            display_name="Ana",
            smtp_host="127.0.0.1",
            smtp_port=SUBMISSION_PORT,
            smtp_security="starttls",
            password=Secret(password),
            imap_host="127.0.0.1",
            imap_port=IMAPS_PORT,
            imap_security="ssl",
            smtp_ca_pem=ca_pem(ca_file),
            imap_ca_pem=ca_pem(ca_file),
            force=True,
        )
        return create_account(ctx, workspace_id=default_workspace_id(ctx.sessions), data=data).id
    finally:
        ctx.close()


@pytest.mark.mailserver
def test_accounts_test_ok_json_and_text(cli: Cli, home: Path, mailserver: None) -> None:
    user = create_user("probar")
    account_id = str(add_account(home, user, user.password))

    result = cli("accounts", "test", account_id, "--json", env=ENV)
    assert result.exit_code == 0, result.stdout + result.stderr
    report = result.json()
    assert report["ok"] is True
    connection = [s for s in report["steps"] if not s["name"].startswith("deliv_")]
    assert [s["ok"] for s in connection] == [True] * 12
    assert len(report["steps"]) == 22  # + the deliverability steps (docs/deliverability.md)
    assert {"name", "ok", "duration_ms", "detail"} <= set(report["steps"][0])

    result = cli("accounts", "test", account_id, "--no-send", env=ENV)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"Probar {user.email}" in result.stdout
    assert "✓ Resolución DNS" in result.stdout
    assert "– Email de prueba" in result.stdout and "sin envío (--no-send)" in result.stdout
    assert "Todo funciona" in result.stdout


@pytest.mark.mailserver
def test_accounts_test_failure_exit_1_with_category_and_hint(
    cli: Cli, home: Path, mailserver: None
) -> None:
    user = create_user("probar")
    account_id = str(add_account(home, user, "not-" + user.password))

    result = cli("accounts", "test", account_id, env=ENV)
    assert result.exit_code == 1
    assert "✗ Autenticación" in result.stdout
    assert "Autenticación fallida" in result.stdout  # the seed's heading
    assert "App Password" in result.stdout
    assert user.password not in result.stdout + result.stderr

    result = cli("--lang", "fr", "accounts", "test", account_id, "--json", env=ENV)
    assert result.exit_code == 1
    error = result.json()["error"]
    assert (error["code"], error["category"], error["step"]) == ("auth_failed", "auth", "auth")
    assert "mot de passe" in error["hint"]


def test_accounts_test_unknown_or_bad_id(cli: Cli) -> None:
    result = cli("accounts", "test", "4242", "--json")
    assert result.exit_code == 1
    assert result.json()["error"]["code"] == "account_not_found"
    assert cli("accounts", "test", "abc").exit_code == 2


def test_autodetect_preset_json_and_text(cli: Cli) -> None:
    result = cli("autodetect", "luis@zoho.eu", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    found = result.json()
    assert found["smtp"]["host"] == "smtp.zoho.eu"
    assert (found["smtp"]["source"], found["smtp"]["confidence"]) == ("preset", "high")
    assert found["imap"]["port"] == 993

    result = cli("autodetect", "luis@zoho.eu")
    assert result.exit_code == 0
    assert "smtp.zoho.eu:587 TLS" in result.stdout
    assert "confianza alta" in result.stdout


def test_autodetect_bad_address_exit_2(cli: Cli) -> None:
    result = cli("autodetect", "not-an-address", "--json")
    assert result.exit_code == 2
    error = result.json()["error"]
    assert error["code"] == "email_invalid"
    assert error["field"] == "email"


@pytest.mark.mailserver
def test_accounts_test_certificate_shows_fingerprint_to_pin(
    cli: Cli, home: Path, mailserver: None
) -> None:
    user = create_user("probar")
    account_id = str(add_account(home, user, user.password, ca_file=None))
    with open(SERVER_CERT_FILE) as handle:
        der = ssl.PEM_cert_to_DER_cert(handle.read())
    fingerprint = hashlib.sha256(der).hexdigest()

    result = cli("accounts", "test", account_id, "--no-send", env=ENV)
    assert result.exit_code == 1
    assert "Certificado inválido" in result.stdout
    assert f"Huella SHA-256 del certificado: {fingerprint}" in result.stdout

    # A pin is part of the endpoint the password is bound to: it is given again with it.
    pinned = cli(
        "accounts",
        "edit",
        account_id,
        "--pin-sha256",
        fingerprint,
        "--password-stdin",
        "--json",
        input=user.password + "\n",
    )
    assert pinned.exit_code == 0, pinned.stdout + pinned.stderr
    result = cli("accounts", "test", account_id, "--no-send", env=ENV)
    assert result.exit_code == 0, result.stdout


def test_autodetect_text_shows_provider_note_and_alternatives(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def proposal(source: Source, host: str, port: int) -> ServerProposal:
        security = Security.SSL if port == 465 else Security.STARTTLS
        provider = "zoho-eu" if source is Source.PRESET else None
        return ServerProposal(
            "smtp", host, port, security, "luis@zoho.eu", source, Confidence.HIGH, "d", provider
        )

    chosen = proposal(Source.PRESET, "smtp.zoho.eu", 587)
    other = proposal(Source.SRV, "smtp.other.test", 465)
    found = Detection("luis@zoho.eu", "zoho.eu", chosen, None, [chosen, other], [], 3)
    with use_language("es"):
        autodetect_cli._print_detection(found)
    out = capsys.readouterr().out
    assert "App Password" in out  # the Zoho preset's note
    assert "Alternativas" in out
    assert "smtp.other.test:465 SSL" in out
