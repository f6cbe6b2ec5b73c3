"""`fluenzr accounts …` round trips on SQLite and on a real PostgreSQL server (same code)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.cli import Cli

PASSWORD = "Zx!9 ñandú-密码\t'\"end"


@pytest.fixture
def cli(home: Path, db_url: str) -> Cli:
    return Cli(home=home, database_url=db_url)


def _snapshot(db_url: str) -> list[tuple[object, ...]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM accounts ORDER BY id")).all()
            events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        return [tuple(row) for row in rows] + [("events", events)]
    finally:
        engine.dispose()


def _add(cli: Cli, email: str = "ana@example.com", *extra: str) -> dict[str, object]:
    result = cli(
        "accounts",
        "add",
        "--email",
        email,
        "--name",
        "Ana García",
        "--smtp-host",
        "smtp.example.com",
        "--password-stdin",
        "--json",
        *extra,
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert isinstance(data, dict)
    return data


def test_add_list_show_edit_remove(cli: Cli) -> None:
    assert cli("init").exit_code == 0
    created = _add(cli)
    assert created["smtp_port"] == 587 and created["smtp_security"] == "starttls"
    assert created["password_set"] is True and created["smtp_username"] == "ana@example.com"
    account_id = str(created["id"])

    listed = cli("accounts", "list", "--json").json()
    assert [a["email"] for a in listed["accounts"]] == ["ana@example.com"] and listed["total"] == 1
    shown = cli("accounts", "show", account_id, "--json")
    assert shown.json()["display_name"] == "Ana García"
    assert PASSWORD not in shown.stdout and 'password":' not in shown.stdout

    edited = cli(
        "accounts",
        "edit",
        account_id,
        "--smtp-port",
        "465",
        "--smtp-security",
        "ssl",
        "--imap-host",
        "imap.example.com",
        "--daily-limit",
        "30",
        # A new server needs the password again; another IMAP host needs its own.
        "--password-stdin",
        "--imap-password-env",
        "IMAP_PW",
        "--json",
        input=PASSWORD + "\n",
        env={"IMAP_PW": PASSWORD},
    ).json()
    assert (edited["smtp_port"], edited["smtp_security"], edited["imap_port"]) == (465, "ssl", 993)
    assert edited["daily_limit"] == 30

    table = cli("accounts", "list")
    assert "Cuentas de Email" in table.stdout and "ana@example.com" in table.stdout

    assert cli("accounts", "remove", account_id).exit_code == 0
    assert cli("accounts", "list", "--json").json()["accounts"] == []
    missing = cli("accounts", "show", account_id, "--json")
    assert missing.exit_code == 1 and missing.json()["error"]["code"] == "account_not_found"


def test_preset_needs_only_email_name_password(cli: Cli) -> None:
    result = cli(
        "accounts",
        "add",
        "--email",
        "ana@zoho.eu",
        "--name",
        "Ana",
        "--preset",
        "zoho-eu",
        "--password-env",
        "ZOHO_PW",
        "--json",
        env={"ZOHO_PW": PASSWORD},
    )
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert (data["smtp_host"], data["imap_host"], data["provider"]) == (
        "smtp.zoho.eu",
        "imap.zoho.eu",
        "zoho-eu",
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--email", "not-an-email", "--smtp-host", "smtp.example.com"], "email"),
        (["--email", "b@example.com", "--smtp-host", "smtp example.com"], "smtp_host"),
        (
            ["--email", "b@example.com", "--smtp-host", "smtp.example.com", "--smtp-port", "0"],
            "smtp_port",
        ),
        (
            [
                "--email",
                "b@example.com",
                "--smtp-host",
                "smtp.example.com",
                "--smtp-port",
                "465",
                "--smtp-security",
                "starttls",
            ],
            "smtp_security",
        ),
        (
            [
                "--email",
                "b@example.com",
                "--smtp-host",
                "smtp.example.com",
                "--smtp-port",
                "587",
                "--smtp-security",
                "ssl",
            ],
            "smtp_security",
        ),
        (
            [
                "--email",
                "b@example.com",
                "--smtp-host",
                "smtp.example.com",
                "--smtp-security",
                "none",
            ],
            "smtp_security",
        ),
        (["--email", "ana@example.com", "--smtp-host", "smtp.example.com"], "email"),  # duplicate
    ],
)
def test_bad_input_exit_2_names_field_and_changes_nothing(
    cli: Cli, db_url: str, args: list[str], field: str
) -> None:
    _add(cli)
    before = _snapshot(db_url)
    result = cli("accounts", "add", *args, "--password-stdin", "--json", input=PASSWORD + "\n")
    assert result.exit_code == 2
    error = result.json()["error"]
    assert error["field"] == field and error["hint"]
    assert _snapshot(db_url) == before
    human = cli("accounts", "add", *args, "--password-stdin", input=PASSWORD + "\n")
    assert (
        human.exit_code == 2
        and "Cómo solucionarlo" in human.stderr
        and "Traceback" not in human.stderr
    )


def test_empty_password_refused(cli: Cli, db_url: str) -> None:
    cli("init")
    before = _snapshot(db_url)
    result = cli(
        "accounts",
        "add",
        "--email",
        "c@example.com",
        "--smtp-host",
        "smtp.example.com",
        "--password-stdin",
        "--json",
        input="\n",
    )
    assert result.exit_code == 2 and result.json()["error"]["field"] == "password"
    assert _snapshot(db_url) == before


def test_force_allows_unusual_port(cli: Cli) -> None:
    data = _add(
        cli, "d@example.com", "--smtp-port", "465", "--smtp-security", "starttls", "--force"
    )
    assert (data["smtp_port"], data["smtp_security"]) == (465, "starttls")


def test_keys_rotate_keeps_every_secret_readable(cli: Cli, home: Path, db_url: str) -> None:
    from fluenzr.config import load_settings
    from fluenzr.services.accounts import open_credentials
    from fluenzr.services.context import open_app
    from fluenzr.vault import sealed_key_id

    ids = [
        # IMAP on the SMTP host: the SMTP password may be reused there.
        int(str(_add(cli, f"u{i}@example.com", "--imap-host", "smtp.example.com")["id"]))
        for i in range(3)
    ]
    old_keys = {p.name for p in (home / "keys").glob("*.key")}
    result = cli("keys", "rotate", "--json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["rewrapped"] == 3 and report["kept"] == []
    assert {p.name for p in (home / "keys").glob("*.key")} == {f"{report['new_key_id']}.key"}
    assert not old_keys & {f"{report['new_key_id']}.key"}
    ctx = open_app(load_settings(home=home, database_url=db_url))
    try:
        for account_id in ids:
            creds = open_credentials(ctx, account_id=account_id)
            assert creds.smtp.password.reveal() == PASSWORD
            assert creds.imap is not None and creds.imap.password.reveal() == PASSWORD
        with ctx.sessions() as session:
            blobs = session.execute(text("SELECT smtp_password_sealed FROM accounts")).scalars()
            assert {sealed_key_id(bytes(b)) for b in blobs} == {report["new_key_id"]}
    finally:
        ctx.close()


def test_bad_configuration_one_line_exit_2(home: Path) -> None:
    cli = Cli(home=home, database_url="mysql://nope")
    result = cli("accounts", "list")
    assert result.exit_code == 2
    assert "FLUENZR_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
