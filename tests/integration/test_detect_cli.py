"""`fluenzr classify / events / webhooks / suppression` end to end through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluenzr.config import load_settings
from fluenzr.services.context import open_app
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from tests.support.cli import Cli

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture
def cli(home: Path) -> Cli:
    return Cli(home=home)


def test_classify_json(cli: Cli) -> None:
    result = cli(
        "classify",
        str(CORPUS / "bounces/postfix_user_unknown.eml"),
        str(CORPUS / "replies/gmail_es_escribio.eml"),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    first, second = result.json()
    assert first["kind"] == "bounce"
    assert first["failed_recipients"] == ["nobody@example.net"]
    assert first["permanent"] is True
    assert second["kind"] == "reply"
    assert "Escríbeme en marzo" in second["reply_text"]
    assert "escribió" not in second["reply_text"]


def test_classify_human_output_and_bad_file(cli: Cli, tmp_path: Path) -> None:
    result = cli("classify", str(CORPUS / "auto_replies/reponse_automatique_fr.eml"))
    assert result.exit_code == 0
    assert "Respuesta automática" in result.stdout
    assert "2027-01-04" in result.stdout
    missing = cli("classify", str(tmp_path / "nope.eml"), "--json")
    assert missing.exit_code == 2
    assert missing.json()["error"]["code"] == "classify_file_unreadable"


def test_suppression_commands(cli: Cli) -> None:
    assert cli("suppression", "add", "Bad@Example.com").exit_code == 0
    again = cli("suppression", "add", "bad@example.com", "--json")
    assert again.json()["error"]["code"] == "suppression_exists"
    listed = cli("suppression", "list", "--json").json()
    assert [(r["email"], r["reason"]) for r in listed] == [("bad@example.com", "manual")]
    invalid = cli("suppression", "add", "not-an-address", "--json")
    assert invalid.exit_code == 2
    assert invalid.json()["error"]["field"] == "email"
    assert cli("suppression", "remove", "bad@example.com").exit_code == 0
    assert cli("suppression", "remove", "bad@example.com").exit_code == 1
    assert cli("suppression", "list", "--json").json() == []


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "javascript:alert(1)", "https://user:pw@example.com/", "http://"],
)
def test_webhook_url_validation(cli: Cli, url: str) -> None:
    result = cli("webhooks", "add", url, "--json")
    assert result.exit_code == 2
    assert result.json()["error"]["code"] == "webhook_url_invalid"
    assert cli("webhooks", "list", "--json").json() == []


def test_webhooks_add_list_remove(cli: Cli) -> None:
    bad = cli("webhooks", "add", "https://example.com/h", "--events", "reply,nope", "--json")
    assert bad.json()["error"]["code"] == "webhook_events_invalid"
    created = cli("webhooks", "add", "https://example.com/h", "--events", "reply,bounce", "--json")
    assert created.exit_code == 0
    data = created.json()
    assert data["secret"].startswith("whsec_")
    hook_id = data["webhook"]["id"]
    listed = cli("webhooks", "list", "--json").json()
    assert listed[0]["events"] == ["reply", "bounce"]
    assert data["secret"] not in cli("webhooks", "list").stdout
    assert cli("webhooks", "deliveries", str(hook_id), "--json").json() == []
    assert cli("webhooks", "remove", str(hook_id)).exit_code == 0
    assert cli("webhooks", "remove", str(hook_id), "--json").json()["error"]["code"] == (
        "webhook_not_found"
    )


def test_events_listing_and_filters(cli: Cli, home: Path) -> None:
    assert cli("init").exit_code == 0
    ctx = open_app(load_settings(home=home))
    try:
        with transaction(ctx.sessions) as session:
            record_event(
                session,
                workspace_id=1,
                type="reply",
                recipient="a@example.com",
                data={"text": "Yes"},
            )
            record_event(session, workspace_id=1, type="bounce", recipient="b@example.com")
    finally:
        ctx.close()
    everything = cli("events", "--json").json()
    assert [e["type"] for e in everything] == ["bounce", "reply"]
    replies = cli("events", "--type", "reply", "--json").json()
    assert [e["recipient"] for e in replies] == ["a@example.com"]
    assert cli("events", "--since", "2999-01-01", "--json").json() == []
    bad = cli("events", "--since", "yesterday", "--json")
    assert bad.exit_code == 2
    assert bad.json()["error"]["code"] == "since_invalid"
    assert cli("events", "--type", "nope", "--json").json()["error"]["code"] == (
        "event_type_invalid"
    )
    assert "a@example.com" in cli("events").stdout
