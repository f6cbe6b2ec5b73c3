"""The account fields are written once (services.account_fields.FIELDS); the API body, the web
form's parsing and checks, and its rendering must all follow that list."""

from __future__ import annotations

import typing

import pytest
from pydantic import SecretStr
from starlette.datastructures import FormData

from fluenzr.api.schemas import AccountCreate, AccountUpdate
from fluenzr.core.secret import Secret
from fluenzr.services.account_config import AccountInput
from fluenzr.services.account_fields import BY_INPUT, FIELDS, LIMIT_RANGES
from fluenzr.web import account_input
from fluenzr.web.drafts import PasswordDrafts
from fluenzr.web.render import environment, translator


def _constraint(model: type, name: str, attr: str) -> object:
    for item in model.model_fields[name].metadata:  # type: ignore[attr-defined]
        if hasattr(item, attr):
            return getattr(item, attr)
    for arg in typing.get_args(model.model_fields[name].annotation):  # type: ignore[attr-defined]
        for item in getattr(arg, "__metadata__", ()):
            for sub in getattr(item, "metadata", [item]):
                if hasattr(sub, attr):
                    return getattr(sub, attr)
    return None


@pytest.mark.parametrize("model", [AccountCreate, AccountUpdate])
def test_api_body_has_exactly_the_schema_fields(model: type) -> None:
    assert set(model.model_fields) == {f.name for f in FIELDS}  # type: ignore[attr-defined]


def test_api_text_caps_and_secrets_match_the_schema() -> None:
    for spec in FIELDS:
        if spec.kind in ("flag", "number"):
            continue
        if spec.kind == "port":
            assert _constraint(AccountCreate, spec.name, "ge") == spec.minimum
            assert _constraint(AccountCreate, spec.name, "le") == spec.maximum
            continue
        assert _constraint(AccountCreate, spec.name, "max_length") == spec.max_length, spec.name
        annotation = AccountCreate.model_fields[spec.name].annotation
        is_secret = SecretStr in typing.get_args(annotation) or any(
            SecretStr in typing.get_args(a) for a in typing.get_args(annotation)
        )
        assert is_secret == spec.secret, spec.name


def test_service_input_has_every_field() -> None:
    assert {f.name for f in FIELDS} <= set(AccountInput.__dataclass_fields__)
    assert set(LIMIT_RANGES) == {"daily_limit", "hourly_limit", "min_interval", "max_interval"}


def test_live_checks_are_the_live_fields() -> None:
    assert set(account_input.LIVE_CHECKS) == {f.input_name for f in FIELDS if f.live}


def test_every_field_renders_with_its_label_and_is_parsed_back() -> None:
    env = environment()
    macros = env.get_template("_account_fields.html").make_module(
        {"t": translator("en"), "csrf": "x"}
    )
    values = {f.input_name: ("1" if f.kind == "flag" else "") for f in FIELDS}
    for spec in FIELDS:
        html = str(macros.account_input(spec, values, {}))
        assert f'name="{spec.input_name}"' in html, spec.name
        assert f'id="f-{spec.input_name}"' in html
        assert "web.form." not in html, f"{spec.name}: untranslated label"
    typed, errors = account_input.typed(values)
    assert errors == {} and set(typed) == {f.name for f in FIELDS if not f.secret}
    assert typed["smtp_auth"] is False  # the "no authentication" box is ticked


def test_all_problems_at_once_in_form_order() -> None:
    values = account_input.empty_values() | {
        "email": "not-an-address",
        "smtp_host": "bad host!",
        "smtp_port": "70000",
        "hourly_limit": "80",
        "daily_limit": "40",
        "min_interval": "300",
        "max_interval": "60",
    }
    limits = {"daily_limit": 50, "hourly_limit": 10, "min_interval": 60, "max_interval": 180}
    found = account_input.problems(values, has_password=False, limits=limits)
    expected = ["email", "smtp_host", "smtp_port", "password", "hourly_limit", "max_interval"]
    assert list(found) == expected
    assert found["hourly_limit"].code == "hourly_over_daily"
    fixed = values | {"hourly_limit": "20"}
    found = account_input.problems(fixed, has_password=True, limits=limits)
    assert found["max_interval"].code == "interval_order"


def test_port_and_encryption_must_match_unless_forced() -> None:
    base = account_input.empty_values() | {
        "email": "a@example.com",
        "smtp_host": "smtp.example.com",
        "smtp_port": "465",
        "smtp_security": "starttls",
    }
    limits = {"daily_limit": 50, "hourly_limit": 10, "min_interval": 60, "max_interval": 180}
    found = account_input.problems(base, has_password=True, limits=limits)
    assert list(found) == ["smtp_security"] and found["smtp_security"].code == (
        "security_port_mismatch"
    )
    forced = base | {"force": "1"}
    assert account_input.problems(forced, has_password=True, limits=limits) == {}


def test_form_values_never_include_passwords() -> None:
    form = FormData([("email", "a@example.com"), ("password", "s3cret"), ("imap_password", "p2")])
    assert "s3cret" not in account_input.values_of(form).values()
    assert {k: v.reveal() for k, v in account_input.secrets_of(form).items()} == {
        "password": "s3cret",
        "imap_password": "p2",
    }
    assert BY_INPUT["no_auth"].name == "smtp_auth"


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_drafts_are_per_user_bounded_and_expire() -> None:
    clock = _Clock()
    drafts = PasswordDrafts(ttl=60, limit=2, clock=clock)
    first = drafts.keep(user_id=1, kept={"password": Secret("pw")})
    assert drafts.take(first, user_id=2) == {}
    assert drafts.take(first, user_id=1)["password"].reveal() == "pw"
    assert drafts.take("x" * 500, user_id=1) == {}
    # Replacing a draft drops the old id.
    second = drafts.keep(user_id=1, kept={"password": Secret("pw2")}, draft_id=first)
    assert drafts.take(first, user_id=1) == {} and len(drafts) == 1
    drafts.keep(user_id=3, kept={"password": Secret("a")})
    drafts.keep(user_id=4, kept={"password": Secret("b")})
    assert len(drafts) == 2 and drafts.take(second, user_id=1) == {}  # the oldest went first
    clock.now = 61
    assert len([1 for _ in range(1)]) and drafts.take(second, user_id=1) == {}
    assert drafts.keep(user_id=1, kept={}) == ""
    assert "pw" not in repr(
        drafts.take(drafts.keep(user_id=5, kept={"password": Secret("pw")}), user_id=5)
    )


def test_cli_add_and_edit_reach_every_field() -> None:
    """The CLI keeps explicit Typer options (start-up time), so this proves they cover FIELDS:
    ``add`` passes each field to AccountInput, ``edit`` names each one in its changes."""
    import inspect

    from fluenzr.cli import accounts as cli

    add = inspect.getsource(cli.cmd_add)
    edit = inspect.getsource(cli.cmd_edit)
    for spec in FIELDS:
        assert f"{spec.name}=" in add, f"accounts add: no {spec.name}"
        if spec.name != "preset":  # the preset only fills a new account's servers
            assert f'"{spec.name}"' in edit, f"accounts edit: no {spec.name}"
