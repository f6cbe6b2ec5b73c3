"""``AccountField.binds`` says which stored password a field is part of: changing any such field
without that password again is refused by the service (and nothing is written), for every
field the schema marks — so the form's notes and the vault's binding cannot drift apart."""

from __future__ import annotations

from typing import Any

import pytest
import trustme

from fluenzr.core.secret import Secret
from fluenzr.errors import ValidationError
from fluenzr.services import accounts
from fluenzr.services.account_config import AccountInput
from fluenzr.services.account_fields import FIELDS
from fluenzr.services.context import AppContext

CHANGED: dict[str, Any] = {
    "smtp_host": "other.example.com",
    "smtp_port": 2525,
    "smtp_security": "ssl",
    "username": "someone-else",
    "imap_host": "imap2.example.com",
    "imap_port": 1993,
    "imap_security": "starttls",
    "imap_username": "another",
    "pin_sha256": "ab" * 32,
}


def _account(app: AppContext) -> int:
    return accounts.create_account(
        app,
        workspace_id=1,
        data=AccountInput(
            email="bound@example.com",
            smtp_host="smtp.example.com",
            smtp_port=587,
            password=Secret("smtp-pw"),
            imap_host="imap.example.com",
            imap_port=993,
            imap_password=Secret("imap-pw"),
        ),
    ).id


@pytest.mark.parametrize("spec", [f for f in FIELDS if f.binds], ids=lambda f: f.name)
def test_changing_a_bound_field_needs_its_password(app: AppContext, spec: Any) -> None:
    account_id = _account(app)
    if spec.kind == "pem":
        value: Any = trustme.CA().cert_pem.bytes().decode()
    else:
        value = CHANGED[spec.name]
    before = accounts.get_account(app, workspace_id=1, account_id=account_id)
    with pytest.raises(ValidationError) as refused:
        accounts.update_account(
            app,
            workspace_id=1,
            account_id=account_id,
            changes={spec.name: value, "force": True},
        )
    field = refused.value.params["field"]
    expected = {"smtp": {"password"}, "imap": {"imap_password"}, "both": {"password"}}
    assert refused.value.code == "endpoint_changed_password_required"
    assert field in expected[spec.binds], spec.name
    assert accounts.get_account(app, workspace_id=1, account_id=account_id) == before
    # With the password(s) again, the change is saved.
    passwords = {"password": Secret("smtp-pw"), "imap_password": Secret("imap-pw")}
    accounts.update_account(
        app,
        workspace_id=1,
        account_id=account_id,
        changes={spec.name: value, "force": True, **passwords},
    )


def test_unbound_fields_change_without_a_password(app: AppContext) -> None:
    account_id = _account(app)
    changes = {"display_name": "Ana", "daily_limit": 20, "hourly_limit": 5, "timezone": "UTC"}
    assert {f.name for f in FIELDS if f.name in changes and f.binds} == set()
    view = accounts.update_account(app, workspace_id=1, account_id=account_id, changes=changes)
    assert (view.display_name, view.daily_limit, view.hourly_limit) == ("Ana", 20, 5)


def test_hourly_limit_above_daily_is_refused_and_a_lone_daily_pulls_it_down(
    app: AppContext,
) -> None:
    account_id = _account(app)
    with pytest.raises(ValidationError) as refused:
        accounts.update_account(
            app,
            workspace_id=1,
            account_id=account_id,
            changes={"daily_limit": 5, "hourly_limit": 6},
        )
    assert refused.value.code == "hourly_over_daily"
    assert refused.value.params["field"] == "hourly_limit"
    # Only the daily cap given (API, CLI): the default hourly one (10) follows it down.
    view = accounts.update_account(
        app, workspace_id=1, account_id=account_id, changes={"daily_limit": 4}
    )
    assert (view.daily_limit, view.hourly_limit) == (4, 4)
