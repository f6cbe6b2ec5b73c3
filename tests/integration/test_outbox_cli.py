"""`fluenzr send`, `fluenzr outbox`, `fluenzr accounts pause|resume` through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from fluenzr.config import load_settings
from fluenzr.services.context import open_app
from fluenzr.storage.engine import transaction
from fluenzr.storage.models.detection import Suppression
from tests.integration.send_support import add_account
from tests.support.cli import Cli
from tests.support.fault_smtp import RawServer


@pytest.fixture
def cli(home: Path, db_url: str) -> Cli:
    return Cli(home=home, database_url=db_url)


@pytest.fixture
def account(home: Path, db_url: str) -> int:
    return _make_account(home, db_url)


def _make_account(home: Path, db_url: str) -> int:
    ctx = open_app(load_settings(home=home, database_url=db_url))
    try:
        account_id = add_account(
            ctx, email="ana@example.com", password="pw", port=2525, security="none"
        )
        with transaction(ctx.sessions) as session:
            session.add(Suppression(workspace_id=1, email="gone@example.org", reason="bounce"))
        return account_id
    finally:
        ctx.close()


@pytest.fixture
def sqlite_cli(home: Path) -> Cli:
    return Cli(home=home, database_url=f"sqlite:///{home / 'fluenzr.db'}")


@pytest.fixture
def sqlite_account(home: Path) -> int:
    return _make_account(home, f"sqlite:///{home / 'fluenzr.db'}")


def _count(db_url: str) -> tuple[int, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            messages = conn.execute(text("SELECT count(*) FROM outbox_messages")).scalar_one()
            recipients = conn.execute(text("SELECT count(*) FROM outbox_recipients")).scalar_one()
        return messages, recipients
    finally:
        engine.dispose()


def test_send_list_show_cancel(cli: Cli, account: int, tmp_path: Path, db_url: str) -> None:
    body = tmp_path / "body.txt"
    body.write_text("Hola Bob,\n¿hablamos?\n", encoding="utf-8")
    html = tmp_path / "body.html"
    html.write_text("<p>Hola <b>Bob</b></p>", encoding="utf-8")
    sent = cli(
        "send",
        "--account",
        str(account),
        "--to",
        "Bob <bob@example.org>",
        "--cc",
        "carol@example.org",
        "--subject",
        "Reunión",
        "--text-file",
        str(body),
        "--html-file",
        str(html),
        "--header",
        "X-Campaign=otoño",
        "--in-reply-to",
        "<parent@example.org>",
        "--not-before",
        "2030-01-01T09:00",
        "--stop-on-reply",
        "--json",
    )
    assert sent.exit_code == 0, sent.stderr
    data = sent.json()
    assert set(data) == {"id", "message_id", "status"}
    assert data["status"] == "queued" and data["message_id"].endswith("@example.com")

    listed = cli("outbox", "--json").json()
    assert [m["id"] for m in listed] == [data["id"]]
    assert {r["email"] for r in listed[0]["recipients"]} == {"bob@example.org", "carol@example.org"}
    assert listed[0]["stop_on_reply"] is True and listed[0]["not_before"].startswith("2030-01-01")
    assert cli("outbox", "--status", "sent", "--json").json() == []
    assert "Reunión" in cli("outbox").stdout
    assert cli("outbox", "show", str(data["id"]), "--json").json()["subject"] == "Reunión"

    cancelled = cli("outbox", "cancel", str(data["id"]), "--json")
    assert cancelled.exit_code == 0 and cancelled.json()["status"] == "cancelled"
    again = cli("outbox", "cancel", str(data["id"]), "--json")
    assert again.exit_code == 1 and again.json()["error"]["code"] == "outbox_not_cancellable"
    assert _count(db_url) == (1, 2)


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        (["--to", "not-an-address"], "email_invalid", "to"),
        (["--to", "bob@example.org", "--cc", "x@"], "email_invalid", "cc"),
        (["--to", "gone@example.org"], "recipient_suppressed", "to"),
        (
            ["--to", "bob@example.org", "--subject", "Hi\r\nBcc: victim@example.org"],
            "header_injection",
            "Subject",
        ),
        (
            ["--to", "bob@example.org", "--header", "X-A=b\nBcc: v@example.org"],
            "header_injection",
            "X-A",
        ),
        (["--to", "bob@example.org", "--header", "Bcc=v@example.org"], "header_reserved", "header"),
        (["--to", "bob@example.org", "--header", "novalue"], "header_format", "header"),
        (["--to", "bob@example.org", "--in-reply-to", "nope"], "message_id_invalid", "in_reply_to"),
        (["--to", "bob@example.org", "--not-before", "tomorrow"], "datetime_invalid", "not_before"),
        (
            ["--to", "bob@example.org", "--text-file", "/nonexistent"],
            "file_unreadable",
            "text_file",
        ),
        (["--to", "bob@example.org", "--text", "a", "--text-file", "/x"], "text_choice", "text"),
        (["--to", "bob@example.org", "--account", "999"], "account_not_found", "account"),
    ],
)
def test_bad_input_exit_2_nothing_enqueued(
    sqlite_cli: Cli, sqlite_account: int, home: Path, args: list[str], code: str, field: str
) -> None:
    cli, account, db_url = sqlite_cli, sqlite_account, f"sqlite:///{home / 'fluenzr.db'}"
    base = ["send", "--account", str(account), "--json"]
    if "--subject" not in args:
        base += ["--subject", "Hola"]
    if "--text" not in args and "--text-file" not in args:
        base += ["--text", "Hola"]
    result = cli(*base, *args)
    assert result.exit_code == 2, result.stdout
    error = result.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert _count(db_url) == (0, 0)


def test_human_error_is_translated(cli: Cli, account: int) -> None:
    result = cli(
        "--lang",
        "es",
        "send",
        "--account",
        str(account),
        "--to",
        "bob@example.org",
        "--subject",
        "a\nb",
        "--text",
        "x",
    )
    assert result.exit_code == 2
    assert "salto de línea" in result.stderr and "Traceback" not in result.stderr


async def test_pause_resume_and_worker(home: Path, db_url: str) -> None:
    server = await RawServer().start()
    try:
        ctx = open_app(load_settings(home=home, database_url=db_url))
        account_id = add_account(
            ctx, email="ana@example.com", password="pw", port=server.port, security="none"
        )
        ctx.close()
        cli = Cli(home=home, database_url=db_url)
        paused = cli("accounts", "pause", str(account_id), "--json")
        assert paused.exit_code == 0 and paused.json()["status"] == "paused"
        queued = cli(
            "send",
            "--account",
            str(account_id),
            "--to",
            "bob@example.org",
            "--subject",
            "Hola",
            "--text",
            "x",
            "--json",
        ).json()
        from tests.integration.send_support import run_worker_async

        await run_worker_async(home, db_url)
        assert cli("outbox", "--json").json()[0]["status"] == "queued"  # paused: nothing sent
        resumed = cli("accounts", "resume", str(account_id), "--json")
        assert resumed.exit_code == 0 and resumed.json()["status"] == "active"
        again = cli("accounts", "resume", str(account_id), "--json")
        assert again.exit_code == 1 and again.json()["error"]["code"] == "account_not_paused"
        await run_worker_async(home, db_url)
        shown = cli("outbox", "show", str(queued["id"]), "--json").json()
        assert shown["status"] == "sent"
        assert len(server.delivered) == 1
    finally:
        await server.stop()


def test_pacing_window_and_warmup(sqlite_cli: Cli, sqlite_account: int) -> None:
    result = sqlite_cli(
        "accounts", "pacing", str(sqlite_account), "--days", "mon-fri", "--start", "9:00",
        "--end", "18:30", "--warmup-start", "5", "--warmup-increment", "2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["send_window"] == {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:30"}
    assert (data["warmup_start"], data["warmup_increment"]) == (5, 2)
    bad = sqlite_cli("accounts", "pacing", str(sqlite_account), "--days", "funday", "--json")
    assert bad.exit_code == 2 and bad.json()["error"]["code"] == "window_invalid"
    late = sqlite_cli(
        "accounts", "pacing", str(sqlite_account), "--start", "18:00", "--end", "09:00", "--json"
    )
    assert late.exit_code == 2 and late.json()["error"]["field"] == "end"
    cleared = sqlite_cli(
        "accounts", "pacing", str(sqlite_account), "--no-window", "--no-warmup", "--json"
    ).json()
    assert (cleared["send_window"], cleared["warmup_start"]) == (None, None)
