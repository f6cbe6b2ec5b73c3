"""Account use cases through the service layer, as the API and the worker call them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluenzr.config import load_settings
from fluenzr.core.secret import Secret
from fluenzr.errors import VaultError
from fluenzr.services.accounts import (
    AccountInput,
    create_account,
    get_account,
    open_credentials,
    update_account,
)
from fluenzr.services.context import AppContext, default_workspace_id, open_app


def _input(**changes: object) -> AccountInput:
    base: dict[str, object] = {
        "email": "ana@example.com",
        "display_name": "Ana",
        "smtp_host": "mail.example.com",
        "password": Secret("first password"),
        "imap_host": "mail.example.com",  # the same host: the SMTP password may be reused
    }
    return AccountInput(**{**base, **changes})  # type: ignore[arg-type]


def test_web_role_can_seal_but_never_open(home: Path) -> None:
    full = open_app(load_settings(home=home))
    web = open_app(load_settings(home=home, vault_read_only=True))
    try:
        ws = default_workspace_id(web.sessions)
        view = create_account(web, workspace_id=ws, data=_input())
        assert view.password_set
        with pytest.raises(VaultError) as info:
            open_credentials(web, account_id=view.id)
        assert info.value.code == "vault_no_private_key"
        creds = open_credentials(full, account_id=view.id)
        assert creds.smtp.password.reveal() == "first password"
        assert creds.imap is not None and creds.imap.password.reveal() == "first password"
        assert creds.imap.username == "ana@example.com"
    finally:
        web.close()
        full.close()


def test_edit_password_and_imap(app_any_db: AppContext) -> None:
    ws = default_workspace_id(app_any_db.sessions)
    view = create_account(app_any_db, workspace_id=ws, data=_input())
    assert get_account(app_any_db, workspace_id=ws, account_id=view.id).imap_port == 993
    update_account(
        app_any_db,
        workspace_id=ws,
        account_id=view.id,
        changes={"password": Secret("second"), "imap_password": Secret("imap only")},
    )
    creds = open_credentials(app_any_db, account_id=view.id)
    assert creds.smtp.password.reveal() == "second"
    assert creds.imap is not None and creds.imap.password.reveal() == "imap only"
    off = update_account(app_any_db, workspace_id=ws, account_id=view.id, changes={"imap_host": ""})
    assert off.imap_host is None
    assert open_credentials(app_any_db, account_id=view.id).imap is None


def test_other_workspace_cannot_see_account(app: AppContext) -> None:
    from fluenzr.errors import NotFoundError
    from fluenzr.storage.engine import transaction
    from fluenzr.storage.models import Workspace

    ws = default_workspace_id(app.sessions)
    view = create_account(app, workspace_id=ws, data=_input())
    with transaction(app.sessions) as session:
        other = Workspace(name="Other")
        session.add(other)
        session.flush()
        other_id = other.id
    with pytest.raises(NotFoundError):
        get_account(app, workspace_id=other_id, account_id=view.id)
    # the same email may exist in another workspace
    assert create_account(app, workspace_id=other_id, data=_input()).id != view.id
