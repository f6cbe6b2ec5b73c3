"""The accounts list at fleet size: the Core query, tags, the CLI, the API and the page's bulk
actions — on SQLite and PostgreSQL where state matters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert

from fluenzr.api.routes.accounts import AccountRow
from fluenzr.core.secret import Secret
from fluenzr.errors import NotFoundError, ValidationError
from fluenzr.services import account_listing, account_tags, accounts, users
from fluenzr.services.account_config import AccountInput
from fluenzr.services.context import AppContext, workspace_id
from fluenzr.storage.account_query import AccountFilter, PageRequest
from fluenzr.storage.models import Event
from tests.e2e.server import (
    ADMIN_EMAIL,
    Caller,
    admin,
    csrf_of,
    other_user,
    serve,
    set_up_admin_over_http,
)
from tests.support.cli import Cli

NOW = datetime.now(UTC)


def _make(ctx: AppContext, workspace: int, count: int, *, prefix: str = "u") -> list[int]:
    ids = []
    for number in range(count):
        data = AccountInput(
            email=f"{prefix}{number:02d}@dom{number % 2}.example.com",
            display_name=f"Nombre {number:02d}",
            smtp_host=f"smtp{number % 3}.example.net",
            smtp_port=587,
            smtp_security="starttls",
            password=Secret("a-password"),
        )
        ids.append(accounts.create_account(ctx, workspace_id=workspace, data=data).id)
    return ids


def _page(ctx: AppContext, ws: int, chosen: AccountFilter, **paging: object) -> dict[str, object]:
    return account_listing.account_page_dicts(
        ctx.engine,
        workspace_id=ws,
        chosen=chosen,
        paging=PageRequest(**paging),
        now=NOW,  # type: ignore[arg-type]
    )


def test_query_filters_searches_sorts_pages_and_counts(app_any_db: AppContext) -> None:
    ctx = app_any_db
    ws = workspace_id(ctx)
    ids = _make(ctx, ws, 12)
    account_tags.add_tag(ctx.engine, workspace_id=ws, account_ids=ids[:3], tag="Lote A")
    found = _page(ctx, ws, AccountFilter(), per_page=5, page=3)
    assert found["total"] == 12 and [a["id"] for a in found["accounts"]] == ids[10:]  # type: ignore[index]
    assert _page(ctx, ws, AccountFilter(search="U07@"))["total"] == 1
    assert _page(ctx, ws, AccountFilter(search="dom1.example"))["total"] == 6  # domain
    assert _page(ctx, ws, AccountFilter(search="smtp2.example"))["total"] == 4  # host
    assert _page(ctx, ws, AccountFilter(search="nombre 1"))["total"] == 2  # name: 10, 11
    assert _page(ctx, ws, AccountFilter(search="%"))["total"] == 0  # a wildcard is a character
    tagged = _page(ctx, ws, AccountFilter(tag="lote-a"))
    assert tagged["total"] == 3 and tagged["accounts"][0]["tags"] == ["lote-a"]  # type: ignore[index]
    assert _page(ctx, ws, AccountFilter(test="never"))["total"] == 12
    assert _page(ctx, ws, AccountFilter(status="paused"))["total"] == 0
    by_email = _page(ctx, ws, AccountFilter(), sort="email", descending=True, per_page=2)
    assert [a["email"] for a in by_email["accounts"]] == [
        "u11@dom1.example.com",
        "u10@dom0.example.com",
    ]  # type: ignore[index]
    one = by_email["accounts"][0]  # type: ignore[index]
    assert one["health"]["score"] == 80 and one["health"]["reasons"][0]["code"] == "test_never"
    assert "smtp_password_sealed" not in one and one["password_set"] is True


def test_health_reads_a_pages_events(app_any_db: AppContext) -> None:
    ctx = app_any_db
    ws = workspace_id(ctx)
    [account_id] = _make(ctx, ws, 1)
    rows = [{"type": "sent"}] * 20 + [{"type": "bounce"}] * 2
    rows.append({"type": "account_paused", "data": '{"reason": "auth_failed"}'})
    # Odd stored data is skipped, never a crash of the whole page.
    for odd in ('{"reason": ["auth_failed"]}', "[1]", "not json", '{"reason": {"a": 1}}'):
        rows.append({"type": "account_paused", "data": odd})
    with ctx.engine.begin() as connection:
        connection.execute(
            insert(Event.__table__),
            [
                {
                    "workspace_id": ws,
                    "account_id": account_id,
                    "data": "{}",
                    "created_at": NOW,
                    **row,
                }
                for row in rows
            ],
        )
    [shown] = _page(ctx, ws, AccountFilter())["accounts"]  # type: ignore[misc]
    assert shown["stats"]["sent_today"] == 20 and shown["stats"]["bounce_rate"] == 0.1
    codes = [reason["code"] for reason in shown["health"]["reasons"]]
    assert codes == ["test_never", "bounce_high", "auth_failures"]
    assert shown["health"]["score"] == 100 - 20 - 30 - 15


def test_tags_in_bulk_only_on_own_accounts(app_any_db: AppContext) -> None:
    ctx = app_any_db
    ws = workspace_id(ctx)
    ids = _make(ctx, ws, 3)
    assert account_tags.add_tag(ctx.engine, workspace_id=ws, account_ids=ids, tag="x") == 3
    assert account_tags.add_tag(ctx.engine, workspace_id=ws, account_ids=ids, tag=" X ") == 0
    assert account_tags.remove_tag(ctx.engine, workspace_id=ws, account_ids=ids[:1], tag="x") == 1
    assert account_tags.accounts_with_tag(ctx.engine, workspace_id=ws, tag="x") == ids[1:]
    with pytest.raises(NotFoundError):
        account_tags.add_tag(ctx.engine, workspace_id=ws, account_ids=[ids[0], 999_999], tag="y")
    with pytest.raises(ValidationError):
        account_tags.add_tag(ctx.engine, workspace_id=ws, account_ids=ids, tag="no good!")
    assert account_tags.tags_of_accounts(ctx.engine, workspace_id=ws, account_ids=ids) == {
        ids[0]: [],
        ids[1]: ["x"],
        ids[2]: ["x"],
    }  # nothing half-written by the refused calls


@pytest.fixture
def cli(home: Path, db_url: str) -> Cli:
    return Cli(home=home, database_url=db_url)


def test_cli_tag_and_filtered_list(cli: Cli) -> None:
    assert cli("init").exit_code == 0
    for name in ("ana", "bea", "cris"):
        added = cli(
            "accounts",
            "add",
            "--email",
            f"{name}@example.com",
            "--smtp-host",
            "smtp.example.com",
            "--password-stdin",
            "--json",
            input="pw\n",
        )
        assert added.exit_code == 0, added.stderr
    tagged = cli("accounts", "tag", "1", "3", "--add", "Cliente A", "--json").json()
    assert tagged["changed"] == 2 and tagged["accounts"][0] == {"id": 1, "tags": ["cliente-a"]}
    listed = cli(
        "accounts", "list", "--tag", "cliente-a", "--per-page", "1", "--page", "2", "--json"
    )
    body = listed.json()
    assert (body["total"], body["page"], body["per_page"]) == (2, 2, 1)
    assert [a["email"] for a in body["accounts"]] == ["cris@example.com"]
    assert body["accounts"][0]["health"]["level"] == "good"
    assert cli("accounts", "list", "--search", "BEA", "--json").json()["total"] == 1
    assert cli("accounts", "tag", "2", "--remove", "cliente-a", "--json").json()["changed"] == 0
    bad = cli("accounts", "tag", "1", "--add", "x", "--remove", "y", "--json")
    assert bad.exit_code == 2 and bad.json()["error"]["code"] == "invalid_input"
    wrong = cli("accounts", "list", "--status", "gone", "--json")
    assert wrong.exit_code == 2 and wrong.json()["error"]["field"] == "status"


@pytest.fixture
def served(app: AppContext) -> Iterator[str]:
    with serve(app, sending=False) as url:
        yield url


def test_api_list_params_total_and_tag_endpoints(app: AppContext, served: str) -> None:
    caller: Caller = admin(app)
    ids = _make(app, caller.workspace_id, 6)
    theirs = other_user(app)
    [foreign] = _make(app, theirs.workspace_id, 1, prefix="z")
    with httpx.Client(base_url=served, headers=caller.headers, timeout=20) as http:
        everything = http.get("/api/v1/accounts")
        assert [a["id"] for a in everything.json()] == ids  # as before: a list of every account
        assert everything.headers["x-total-count"] == "6"
        for row in everything.json():  # answered without re-validation: hold it to the schema
            assert AccountRow.model_validate(row).model_dump(mode="json") == row
        bulk = http.post("/api/v1/accounts/tags", json={"account_ids": ids[:4], "add": "Norte"})
        assert bulk.status_code == 200 and bulk.json()["changed"] == 4
        one = http.post(f"/api/v1/accounts/{ids[5]}/tags", json={"tag": "norte"})
        assert one.json()["tags"] == {str(ids[5]): ["norte"]}
        gone = http.delete(f"/api/v1/accounts/{ids[0]}/tags/norte")
        assert gone.json()["changed"] == 1
        page = http.get("/api/v1/accounts", params={"tag": "norte", "per_page": 2, "page": 2})
        assert page.headers["x-total-count"] == "4" and [a["id"] for a in page.json()] == [
            ids[3],
            ids[5],
        ]
        shown = http.get(f"/api/v1/accounts/{ids[5]}").json()
        assert shown["tags"] == ["norte"] and shown["health"]["score"] == 80
        assert http.get("/api/v1/accounts", params={"sort": "secret"}).status_code == 422
        assert http.get("/api/v1/accounts", params={"per_page": 501}).status_code == 422
        refused = http.post("/api/v1/accounts/tags", json={"account_ids": [foreign], "add": "x"})
        assert refused.status_code == 404
        assert (
            http.post("/api/v1/accounts/tags", json={"account_ids": ids, "add": "a b!"}).status_code
            == 422
        )


def test_page_bulk_actions(app: AppContext, served: str) -> None:
    with httpx.Client(base_url=served, timeout=20) as http:
        set_up_admin_over_http(http)
        ws = users.workspaces_of(app, users.user_by_email(app, ADMIN_EMAIL).id)[0].id
        ids = _make(app, ws, 4)
        theirs = other_user(app)
        [foreign] = _make(app, theirs.workspace_id, 1, prefix="z")
        listing = http.get("/accounts", params={"per_page": 25, "sort": "email"})
        assert listing.status_code == 200 and 'data-total="4"' in listing.text
        token = csrf_of(listing.text)
        base = {"csrf": token}
        assert (
            http.post("/accounts/bulk", data={"action": "pause", "account_id": ids[0]}).status_code
            == 403
        )
        paused = http.post(
            "/accounts/bulk",
            data={**base, "action": "pause", "account_id": [ids[0], ids[1], foreign]},
        )
        assert paused.status_code == 303
        shown = http.get(paused.headers["location"])
        assert "2 cuentas en pausa" in shown.text
        assert (
            accounts.get_account(app, workspace_id=theirs.workspace_id, account_id=foreign).status
            == "active"
        )
        assert (
            accounts.get_account(app, workspace_id=ws, account_id=ids[0]).status_reason == "manual"
        )
        resumed = http.post(
            "/accounts/bulk",
            data={**base, "action": "resume", "scope": "filter", "f_status": "paused"},
        )
        assert "2 cuentas reanudadas" in http.get(resumed.headers["location"]).text
        limits = http.post(
            "/accounts/bulk",
            data={**base, "action": "limits", "scope": "filter", "daily_limit": "33"},
        )
        assert limits.status_code == 303
        assert {
            accounts.get_account(app, workspace_id=ws, account_id=i).daily_limit for i in ids
        } == {33}
        bad = http.post(
            "/accounts/bulk",
            data={**base, "action": "limits", "account_id": ids[0], "daily_limit": "0"},
        )
        assert bad.status_code == 422 and "notice error" in bad.text
        tested = http.post("/accounts/bulk", data={**base, "action": "test", "scope": "filter"})
        assert (
            'action="/accounts/test-bulk"' in tested.text and 'name="all" value="1"' in tested.text
        )
        picked = http.post("/accounts/bulk", data={**base, "action": "test", "account_id": ids[:2]})
        assert picked.text.count('name="account_id"') == 2
        asked = http.post(
            "/accounts/bulk", data={**base, "action": "delete", "account_id": ids[:2]}
        )
        assert "¿Eliminar 2 cuentas?" in asked.text
        assert len(accounts.list_accounts(app, workspace_id=ws)) == 4  # nothing yet
        wrong = http.post(
            "/accounts/bulk",
            data={**base, "action": "delete", "account_id": ids[:2], "confirm_count": "4"},
        )
        assert wrong.status_code == 422 and len(accounts.list_accounts(app, workspace_id=ws)) == 4
        done = http.post(
            "/accounts/bulk",
            data={**base, "action": "delete", "account_id": ids[:2], "confirm_count": "2"},
        )
        assert "2 cuentas eliminadas" in http.get(done.headers["location"]).text
        assert [a.id for a in accounts.list_accounts(app, workspace_id=ws)] == ids[2:]
        forged = http.get("/accounts", params={"done": "delete", "n": "99", "dsig": "x"})
        assert "99 cuentas" not in forged.text
        odd = http.get("/accounts", params={"status": "weird", "page": "x"})
        assert odd.status_code == 200 and "notice error" in odd.text
