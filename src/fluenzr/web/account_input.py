"""The account form as posted → service input, with every problem found at once.

The fields come from ``services.account_fields.FIELDS``: one loop parses them all. A rejected
form is shown again with each error next to its field (:func:`problems` checks each field on
its own with the service's rules, then the cross-field rules: hourly ≤ daily, min ≤ max interval,
port ↔ encryption); what only the service can know (a duplicate address, a password the new
server needs) comes back from it as one more error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fluenzr.core.endpoints import Security
from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.presets.catalogue import get_preset
from fluenzr.services import account_rules
from fluenzr.services.account_config import AccountInput
from fluenzr.services.account_fields import (
    BY_INPUT,
    FIELDS,
    LIMIT_RANGES,
    AccountField,
    in_group,
)
from fluenzr.web.forms import text

# Inputs rendered back into the page (never a password).
SHOWN = tuple(f for f in FIELDS if not f.secret)
SECRETS = tuple(f for f in FIELDS if f.secret)
# Error ``field`` names of the service that differ from the form's input names.
FIELD_ALIASES = {"name": "display_name", "smtp_auth": "no_auth"}

Errors = dict[str, ValidationError]


def values_of(form: Any) -> dict[str, str]:
    """Everything the user typed except passwords, as text (the page shows it again)."""
    values: dict[str, str] = {}
    for spec in SHOWN:
        if spec.kind == "flag":
            values[spec.input_name] = "1" if form.get(spec.input_name) == "1" else ""
        else:
            # One character over the cap keeps "too large" distinguishable from "cut".
            values[spec.input_name] = text(form, spec.input_name, spec.max_length + 1)
    return values


def empty_values() -> dict[str, str]:
    return {spec.input_name: "" for spec in SHOWN}


def secrets_of(form: Any) -> dict[str, Secret]:
    """The passwords typed this time (blank ones left out)."""
    out: dict[str, Secret] = {}
    for spec in SECRETS:
        value = form.get(spec.input_name)
        if isinstance(value, str) and value:
            out[spec.name] = Secret(value[: spec.max_length])
    return out


def _convert(spec: AccountField, raw: str) -> Any:
    if spec.kind == "port":
        return account_rules.port(raw, field=spec.name)
    if spec.kind == "number":
        low, high = spec.minimum or 0, spec.maximum or 0
        try:
            number = int(raw)
        except ValueError:
            raise account_rules.invalid(
                ErrorCode.LIMIT_INVALID, spec.name, minimum=low, maximum=high, value=raw
            ) from None
        return account_rules.limit(number, field=spec.name, minimum=low, maximum=high)
    return raw


def typed(values: Mapping[str, str]) -> tuple[dict[str, Any], Errors]:
    """Each field as the service takes it (None = not given), and the fields that did not parse."""
    out: dict[str, Any] = {}
    errors: Errors = {}
    for spec in SHOWN:
        raw = values.get(spec.input_name, "")
        if spec.kind == "flag":
            out[spec.name] = (raw == "1") != spec.inverted
        elif not raw:
            out[spec.name] = "" if spec.name == "display_name" else None
        else:
            try:
                out[spec.name] = _convert(spec, raw)
            except ValidationError as error:
                errors[spec.input_name] = error
    return out, errors


def to_input(values: Mapping[str, str], secrets: Mapping[str, Secret]) -> AccountInput:
    fields, errors = typed(values)
    if errors:
        raise next(iter(errors.values()))
    for name, secret in secrets.items():
        fields[name] = secret
    return AccountInput(**fields)


# Fields checked on their own as the user leaves them, and again on save (same rules, so the
# same messages, as the API).
LIVE_CHECKS: dict[str, Callable[[str], object]] = {
    "display_name": lambda v: account_rules.display_name(v),
    "smtp_host": lambda v: account_rules.host(v, field="smtp_host") if v else None,
    "smtp_port": lambda v: account_rules.port(v, field="smtp_port") if v else None,
    "imap_host": lambda v: account_rules.host(v, field="imap_host") if v else None,
    "imap_port": lambda v: account_rules.port(v, field="imap_port") if v else None,
    "smtp_ca_pem": lambda v: account_rules.ca_pem(v, field="smtp_ca_pem"),
    "imap_ca_pem": lambda v: account_rules.ca_pem(v, field="imap_ca_pem"),
    "pin_sha256": lambda v: account_rules.pin(v),
}
_ON_SAVE: dict[str, Callable[[str], object]] = {
    "email": lambda v: account_rules.email(v),
    "timezone": lambda v: account_rules.timezone(v),
    "smtp_security": lambda v: account_rules.security(v, field="smtp_security") if v else None,
    "imap_security": lambda v: account_rules.security(v, field="imap_security") if v else None,
    "preset": lambda v: get_preset(v) if v else None,
}


def check_field(name: str, value: str) -> ValidationError | None:
    """The error for one field alone, or None (also for fields without a check)."""
    check = LIVE_CHECKS.get(name) or _ON_SAVE.get(name)
    if check is None:
        return None
    try:
        check(value)
    except ValidationError as error:
        return error
    return None


def _port_security(values: Mapping[str, str], prefix: str, default: Security) -> Errors:
    """Port ↔ encryption (465 = SSL, 587 = TLS, …), unless "accept unusual" is ticked."""
    port_text, mode_text = values.get(f"{prefix}_port", ""), values.get(f"{prefix}_security", "")
    host = values.get(f"{prefix}_host", "")
    if not port_text or values.get("force") == "1" or (prefix == "imap" and not host):
        return {}
    try:
        number = account_rules.port(port_text, field=f"{prefix}_port")
        mode = account_rules.security(mode_text, field="x") if mode_text else default
        account_rules.port_security(
            number, mode, host_name=host or "localhost", field=f"{prefix}_security", force=False
        )
    except ValidationError as error:
        if error.code is ErrorCode.SECURITY_PORT_MISMATCH:
            return {f"{prefix}_security": error}
    return {}


def _limits(fields: Mapping[str, Any], defaults: Mapping[str, int]) -> Errors:
    def given(name: str) -> int:
        value = fields.get(name)
        return int(value) if value is not None else int(defaults[name])

    found = account_rules.limits_order_problems(
        daily=given("daily_limit"),
        hourly=given("hourly_limit"),
        min_interval=given("min_interval"),
        max_interval=given("max_interval"),
    )
    return {str(error.params["field"]): error for error in found}


def stored_limits(view: Any) -> dict[str, int]:
    """A saved account's limits: what a blank limit falls back to when it is edited."""
    return {name: int(getattr(view, name)) for name in LIMIT_RANGES}


def problems(
    values: Mapping[str, str],
    *,
    has_password: bool,
    limits: Mapping[str, int],
    connection: bool = True,
) -> Errors:
    """Every problem of the form, one per field, in the form's order.

    ``limits`` are the values a blank limit falls back to (the stored ones when editing);
    ``connection=False`` checks the limits only (the account page's settings form).
    """
    fields, errors = typed(values)
    limit_names = {f.input_name for f in in_group("limits")}
    for name, value in values.items():
        if name not in errors and (connection or name in limit_names):
            found = check_field(name, value)
            if found is not None:
                errors[name] = found
    if connection:
        if not values.get("smtp_host") and "smtp_host" not in errors:
            preset_key = values.get("preset", "")
            preset = get_preset(preset_key) if preset_key and "preset" not in errors else None
            if preset is None or not preset.smtp_host:
                errors["smtp_host"] = account_rules.invalid(ErrorCode.HOST_MISSING, "smtp_host")
        if not has_password:
            errors["password"] = account_rules.invalid(ErrorCode.PASSWORD_EMPTY, "password")
        for prefix, default in (("smtp", Security.STARTTLS), ("imap", Security.SSL)):
            if f"{prefix}_port" not in errors and f"{prefix}_security" not in errors:
                errors |= _port_security(values, prefix, default)
    if not set(LIMIT_RANGES) & set(errors):  # the order only of limits that parsed
        errors |= _limits(fields, limits)
    order = [f.input_name for f in FIELDS]
    return dict(sorted(errors.items(), key=lambda item: order.index(item[0])))


def field_of(error: ValidationError | Any) -> str:
    """The form input an error of the service belongs to ("" = the whole form)."""
    params = getattr(error, "params", {}) or {}
    name = str(params.get("field") or "")
    name = FIELD_ALIASES.get(name, name)
    return name if name in BY_INPUT else ""
