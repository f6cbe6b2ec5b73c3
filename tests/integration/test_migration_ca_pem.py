"""Migration 0006_egress: each account's CA *path* becomes PEM *text* — read once by the
operator's migration, only from a regular, small, valid PEM file; anything else is dropped."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import trustme
from alembic import command
from sqlalchemy import create_engine, text

from fluenzr.storage.migrate import alembic_config, upgrade


def _account(index: int, ca_file: str | None, *, imap: bool) -> dict[str, object]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "id": index,
        "email": f"a{index}@example.com",
        "ca_file": ca_file,
        "imap_host": "imap.example.com" if imap else None,
        "now": now,
    }


def test_ca_files_become_pem_text(blank_db_url: str, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    good = home / "ca.pem"
    good.write_text("# our CA\n" + ca.cert_pem.bytes().decode())
    key = home / "key.pem"
    key.write_text(ca.issue_cert("example.com").private_key_pem.bytes().decode())
    fifo = home / "fifo"
    os.mkfifo(fifo)  # opening it blocking would hang the migration forever
    big = home / "big.pem"
    big.write_text(ca.cert_pem.bytes().decode() * 200)
    rows = [
        _account(1, str(good), imap=True),
        _account(2, str(good), imap=False),
        _account(3, "/dev/zero", imap=True),
        _account(4, str(fifo), imap=True),
        _account(5, str(key), imap=True),
        _account(6, str(home), imap=True),
        _account(7, "/nonexistent/ca.pem", imap=True),
        _account(8, str(big), imap=True),
        _account(9, None, imap=True),
    ]
    engine = create_engine(blank_db_url)
    try:
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0004")
            conn.execute(
                text("INSERT INTO workspaces (id, name, created_at) VALUES (1, 'W', :now)"),
                {"now": rows[0]["now"]},
            )
            conn.execute(
                text(
                    "INSERT INTO accounts (id, workspace_id, email, display_name, provider, "
                    "smtp_host, smtp_port, smtp_security, smtp_username, smtp_password_sealed, "
                    "imap_host, ca_file, daily_limit, hourly_limit, min_interval, max_interval, "
                    "timezone, status, created_at, updated_at) VALUES (:id, 1, :email, '', "
                    "'custom', 'smtp.example.com', 587, 'starttls', :email, :sealed, "
                    ":imap_host, :ca_file, 50, 10, 60, 180, 'UTC', 'active', :now, :now)"
                ),
                [{**row, "sealed": b"x"} for row in rows],
            )
        upgrade(engine)
        with engine.connect() as conn:
            found = {
                row.id: (row.smtp_ca_pem, row.imap_ca_pem, row.smtp_auth)
                for row in conn.execute(
                    text("SELECT id, smtp_ca_pem, imap_ca_pem, smtp_auth FROM accounts")
                )
            }
            columns = conn.execute(text("SELECT * FROM accounts")).keys()
    finally:
        engine.dispose()
    pem = ca.cert_pem.bytes().decode()
    assert found[1] == (pem, pem, True)  # the comment line is not kept
    assert found[2] == (pem, None, True)
    for dropped in (3, 4, 5, 6, 7, 8, 9):
        assert found[dropped] == (None, None, True), dropped
    assert "ca_file" not in columns
