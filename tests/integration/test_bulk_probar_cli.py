"""`fluenzr accounts test --all | --tag T | ID…` against the real Postfix + Dovecot."""

from __future__ import annotations

from pathlib import Path

import email_validator
import pytest

from fluenzr.core.secret import Secret
from fluenzr.services.accounts import create_account
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.fleet import AccountTag
from tests.integration.test_probar_cli import ENV
from tests.support.cli import Cli
from tests.support.mailservers import MailUser, create_users


@pytest.fixture
def cli(home: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)  # fluenzr.test addresses
    return Cli(home=home)


def _add(ctx: AppContext, user: MailUser, password: str) -> int:
    data = user.account_input(password=Secret(password), force=True)
    return create_account(ctx, workspace_id=default_workspace_id(ctx.sessions), data=data).id


def _tag(ctx: AppContext, tag: str, *account_ids: int) -> None:
    with transaction(ctx.sessions) as session:
        for account_id in account_ids:
            session.add(AccountTag(account_id=account_id, tag=tag))


def _last_test_ok(ctx: AppContext, account_id: int) -> bool | None:
    with ctx.sessions() as session:
        account = session.get(Account, account_id)
        return account.last_test_ok if account else None


@pytest.mark.mailserver
def test_bulk_test_by_tag_all_and_ids(cli: Cli, app: AppContext, mailserver: None) -> None:
    users = create_users("bulkcli", 3)
    good = [_add(app, user, user.password) for user in users[:2]]
    bad = _add(app, users[2], "not the password")
    _tag(app, "ovh", good[0], bad)

    tagged = cli("accounts", "test", "--tag", "ovh", "--no-send", "--json", env=ENV)
    assert tagged.exit_code == 1, tagged.stdout  # one of them did not pass
    data = tagged.json()
    assert data["total"] == 2 and data["summary"]["ok"] == 1 and data["summary"]["failed"] == 1
    rows = {row["account_id"]: row for row in data["rows"]}
    assert rows[good[0]]["outcome"] == "ok" and rows[bad]["code"] == "auth_failed"
    assert "not the password" not in tagged.stdout
    assert _last_test_ok(app, bad) is False and _last_test_ok(app, good[0]) is True

    everything = cli("accounts", "test", "--all", "--no-send", env=ENV)
    assert everything.exit_code == 1
    assert "Probando 3 cuentas" in everything.stdout and "3/3" in everything.stdout
    assert "Resumen por resultado" in everything.stdout and "Con errores" in everything.stdout
    assert users[2].email in everything.stdout  # the failing row is listed with its reason


def test_bulk_test_needs_a_selection_that_exists(cli: Cli, app: AppContext) -> None:
    none = cli("accounts", "test", "--json")
    assert none.exit_code == 2 and none.json()["error"]["code"] == "bulk_probar_empty"
    assert "--all" in none.json()["error"]["hint"]
    empty_tag = cli("accounts", "test", "--tag", "nothing", "--json")
    assert empty_tag.exit_code == 2 and empty_tag.json()["error"]["code"] == "bulk_probar_empty"
    missing = cli("accounts", "test", "4242", "4243", "--json")
    assert missing.exit_code == 1 and missing.json()["error"]["code"] == "account_not_found"
