"""The Core account read (``fluenzr accounts list``) agrees with the models and the view.

A rename in the ORM model must fail here, not in a user's ``accounts list``; and the plain dicts
must be exactly what ``AccountView.model_dump(mode="json")`` printed before (same keys, order
and values — timestamps, JSON columns, booleans and the ``*_set`` flags included).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Integer, LargeBinary, String, Text

from fluenzr.core.secret import Secret
from fluenzr.services.account_config import AccountInput
from fluenzr.services.account_listing import list_account_dicts
from fluenzr.services.account_views import AccountView
from fluenzr.services.accounts import create_account, list_accounts
from fluenzr.services.context import PUBLIC_KEY_FILE, AppContext, workspace_id
from fluenzr.storage import account_reads
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account, Workspace
from fluenzr.vault import keyring


def test_core_tables_name_the_models_columns_with_their_types() -> None:
    for core, model in ((account_reads.accounts, Account), (account_reads.workspaces, Workspace)):
        orm = model.__table__
        assert core.name == orm.name
        for column in core.columns:
            assert column.name in orm.c, f"{core.name}.{column.name} is not a model column"
            orm_type = orm.c[column.name].type
            kind = next(
                k
                for k in (Boolean, DateTime, Integer, LargeBinary, Text, String)
                if isinstance(column.type, k)
            )
            assert isinstance(orm_type, kind), (column.name, orm_type, column.type)
            if kind is DateTime:
                assert orm_type.timezone == column.type.timezone


def test_core_read_covers_every_view_field() -> None:
    read = set(account_reads.accounts.c.keys())
    derived = {"password_set", "imap_password_set"}
    assert set(AccountView.model_fields) - derived <= read


def test_the_vault_file_name_is_the_keyrings() -> None:
    assert PUBLIC_KEY_FILE == keyring.PUBLIC_FILE


def _add(app: AppContext, n: int, **extra: object) -> int:
    view = create_account(
        app,
        workspace_id=workspace_id(app),
        data=AccountInput(
            email=f"sender{n}@example.com",
            display_name=f"Remitente {n} ñ",
            smtp_host="smtp.example.com",
            smtp_port=587,
            smtp_security="starttls",
            password=Secret(f"pw-{n}"),
            **extra,  # type: ignore[arg-type]
        ),
    )
    return view.id


def test_plain_dicts_equal_the_pydantic_view(app: AppContext) -> None:
    assert list_account_dicts(app.engine, workspace_id=workspace_id(app)) == []
    first = _add(app, 1)
    second = _add(app, 2, imap_host="smtp.example.com", imap_port=993, imap_security="ssl")
    _add(app, 3)
    with transaction(app.sessions) as session:
        account = session.get(Account, first)
        assert account is not None
        account.status, account.status_reason = "paused", "rate_limited"
        account.paused_until = datetime(2031, 5, 6, 7, 8, 9, 120000, tzinfo=UTC)
        account.last_error = json.dumps({"code": "auth_failed", "detail": "535 5.7.8"})
        account.send_window = json.dumps({"days": [0, 1], "start": "09:00", "end": "18:00"})
        account.last_test_at = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
        account.last_test_ok = False
        other = session.get(Account, second)
        assert other is not None
        other.warmup_start, other.warmup_increment, other.last_test_ok = 5, 2, True
    ws = workspace_id(app)
    expected = [view.model_dump(mode="json") for view in list_accounts(app, workspace_id=ws)]
    got = list_account_dicts(app.engine, workspace_id=ws)
    assert got == expected
    assert [list(item) for item in got] == [list(item) for item in expected]  # key order too
    assert json.dumps(got) == json.dumps(expected)  # and the types (True is not 1)
    assert got[0]["paused_until"] == "2031-05-06T07:08:09.120000Z"
