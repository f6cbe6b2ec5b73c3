"""`fluenzr send --from-jsonl FILE`: every line checked first, then one transaction per chunk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from fluenzr.cli import send as send_cli
from fluenzr.cli import send_jsonl
from fluenzr.config import load_settings
from fluenzr.services import outbox
from fluenzr.services.context import open_app
from fluenzr.storage.engine import transaction
from fluenzr.storage.models.detection import Suppression
from tests.integration.send_support import add_account
from tests.support.cli import Cli


@pytest.fixture
def cli(home: Path, db_url: str) -> Cli:
    return Cli(home=home, database_url=db_url)


@pytest.fixture
def account(home: Path, db_url: str) -> int:
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


def _count(db_url: str) -> tuple[int, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            messages = conn.execute(text("SELECT count(*) FROM outbox_messages")).scalar_one()
            recipients = conn.execute(text("SELECT count(*) FROM outbox_recipients")).scalar_one()
        return messages, recipients
    finally:
        engine.dispose()


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


def _line(account: int, n: int, **extra: Any) -> dict[str, Any]:
    return {"account": account, "to": f"bob{n}@example.org", "subject": f"Hola {n}", "text": "x"}


def test_valid_file_queues_every_line(cli: Cli, account: int, db_url: str, tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_text("Hola desde un archivo\n", encoding="utf-8")
    lines: list[Any] = [
        _line(account, 1),
        "",  # blank lines are skipped, numbering still follows the file
        {
            "account": account,
            "to": ["carla@example.org", "dan@example.org"],
            "cc": "eve@example.org",
            "subject": "Con copia",
            "text_file": str(body),
            "header": ["X-Campaign=otoño"],
            "unsubscribe": ["https://example.org/u/1"],
            "one_click": True,
            "not_before": "2030-01-01T09:00",
            "stop_on_reply": True,
        },
    ]
    result = cli("send", "--from-jsonl", str(_write(tmp_path / "batch.jsonl", lines)), "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    data = result.json()
    assert data["ok"] is True and data["count"] == 2
    assert [m["line"] for m in data["messages"]] == [1, 3]
    assert {m["status"] for m in data["messages"]} == {"queued"}
    assert _count(db_url) == (2, 4)
    shown = cli("outbox", "show", str(data["messages"][1]["id"]), "--json").json()
    assert shown["stop_on_reply"] is True and shown["subject"] == "Con copia"


@pytest.mark.parametrize(
    ("bad", "code", "field"),
    [
        ("{not json", "jsonl_not_object", None),
        ("[1, 2]", "jsonl_not_object", None),
        ("[" * 100_000 + "]" * 100_000, "jsonl_not_object", None),  # nested past the stack
        ({"acount": 1}, "jsonl_unknown_field", "acount"),
        ({"account": "1", "to": "a@example.org", "subject": "s"}, "jsonl_wrong_type", "account"),
        ({"account": True, "to": "a@example.org", "subject": "s"}, "jsonl_wrong_type", "account"),
        ({"to": "a@example.org", "subject": "s", "text": "x"}, "jsonl_missing_field", "account"),
        ("ACCOUNT", "text_choice", "text"),  # neither text nor text_file
        ("ACCOUNT:header", "header_format", "header"),
        ("ACCOUNT:to", "email_invalid", "to"),  # found by the service check, not the parser
        ("ACCOUNT:gone", "recipient_suppressed", "to"),
        ("ACCOUNT:subject", "header_injection", "Subject"),
        ("UNKNOWN", "account_not_found", "account"),
    ],
)
def test_one_bad_line_exit_2_names_it_and_writes_nothing(
    cli: Cli,
    account: int,
    db_url: str,
    tmp_path: Path,
    bad: Any,
    code: str,
    field: str | None,
) -> None:
    good = _line(account, 1)
    if bad == "ACCOUNT":
        bad = {"account": account, "to": "a@example.org", "subject": "s"}
    elif isinstance(bad, str) and bad.startswith("ACCOUNT:"):
        broken = {
            "header": {"header": ["no-equals-sign"]},
            "to": {"to": "not an address"},
            "gone": {"to": ["ok@example.org", "gone@example.org"]},
            "subject": {"subject": "a\nb"},
        }[bad.removeprefix("ACCOUNT:")]
        bad = {**good, **broken}
    elif bad == "UNKNOWN":
        bad = {**good, "account": account + 999}
    path = _write(tmp_path / "batch.jsonl", [good, good, bad, good])
    result = cli("send", "--from-jsonl", str(path), "--json")
    assert result.exit_code == 2, result.stdout + result.stderr
    data = result.json()
    assert data["ok"] is False and data["error"]["code"] == "jsonl_invalid"
    assert [item["line"] for item in data["lines"]] == [3]
    error = data["lines"][0]["error"]
    assert error["code"] == code, error
    assert error.get("field") == field
    assert _count(db_url) == (0, 0)


def test_text_mode_lists_every_bad_line(
    cli: Cli, account: int, db_url: str, tmp_path: Path
) -> None:
    good = _line(account, 1)
    path = _write(tmp_path / "b.jsonl", [good, "[x]", good, {**good, "subject": "[bold]a\nb"}])
    result = cli("--lang", "en", "send", "--from-jsonl", str(path))
    assert result.exit_code == 2
    assert "Line 2:" in result.stderr and "Line 4:" in result.stderr
    assert "2 line(s)" in result.stderr and "nothing was queued" in result.stderr
    assert "Traceback" not in result.stderr
    assert _count(db_url) == (0, 0)


def test_large_file_is_written_one_transaction_per_chunk(
    cli: Cli, account: int, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks: list[int] = []
    real = outbox.enqueue_many

    def counting(ctx: Any, *, workspace_id: int, requests: Any) -> Any:
        chunks.append(len(requests))
        return real(ctx, workspace_id=workspace_id, requests=requests)

    monkeypatch.setattr(outbox, "enqueue_many", counting)
    total = 2 * send_cli.CHUNK + 7
    path = _write(tmp_path / "big.jsonl", [_line(account, n) for n in range(total)])
    result = cli("send", "--from-jsonl", str(path), "--json")
    assert result.exit_code == 0, result.stdout[-2000:] + result.stderr
    assert result.json()["count"] == total
    assert chunks == [send_cli.CHUNK, send_cli.CHUNK, 7]
    assert _count(db_url) == (total, total)


def test_file_limits(
    cli: Cli, account: int, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "b.jsonl", [_line(account, n) for n in range(5)])
    monkeypatch.setattr(send_jsonl, "MAX_LINES", 3)
    result = cli("send", "--from-jsonl", str(path), "--json")
    assert (result.exit_code, result.json()["error"]["code"]) == (2, "jsonl_too_large")
    monkeypatch.setattr(send_jsonl, "MAX_LINES", 1000)
    monkeypatch.setattr(send_jsonl, "MAX_BYTES", 100)
    result = cli("send", "--from-jsonl", str(path), "--json")
    assert (result.exit_code, result.json()["error"]["code"]) == (2, "jsonl_too_large")
    path.write_bytes(b'{"account": 1, "subject": "\xff"}\n')
    monkeypatch.setattr(send_jsonl, "MAX_BYTES", 1000)
    result = cli("send", "--from-jsonl", str(path), "--json")
    assert result.json()["lines"][0]["error"]["code"] == "jsonl_not_object"
    result = cli("send", "--from-jsonl", str(tmp_path / "missing.jsonl"), "--json")
    assert (result.exit_code, result.json()["error"]["code"]) == (2, "file_unreadable")
    assert _count(db_url) == (0, 0)


def test_from_jsonl_takes_no_per_message_option(cli: Cli, account: int, tmp_path: Path) -> None:
    path = _write(tmp_path / "b.jsonl", [_line(account, 1)])
    result = cli("send", "--from-jsonl", str(path), "--subject", "x")
    assert result.exit_code == 2 and "--from-jsonl" in result.stderr
    result = cli("send", "--to", "bob@example.org", "--subject", "x", "--text", "y")
    assert result.exit_code == 2 and "--account" in result.stderr
