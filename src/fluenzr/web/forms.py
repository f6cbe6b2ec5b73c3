"""The "+ SMTP" form: what the browser posts → service input, and values to render back.

Passwords are never rendered back into a page; a re-shown form asks for them again.
"""

from __future__ import annotations

import re
from typing import Any

from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.presets.catalogue import Preset, get_preset
from fluenzr.services import account_rules
from fluenzr.services.account_config import AccountInput

# The seed page's order: Email, Nombre visible, Servidor SMTP, Puerto, Nombre de usuario,
# Contraseña, Encriptación; then the optional IMAP block.
TEXT_FIELDS = (
    "email",
    "display_name",
    "preset",
    "smtp_host",
    "smtp_port",
    "username",
    "smtp_security",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "smtp_ca_pem",
    "imap_ca_pem",
    "pin_sha256",
)
# PEM text may be long; one byte over the cap keeps "too large" distinguishable from "cut".
PEM_FIELDS = frozenset({"smtp_ca_pem", "imap_ca_pem"})
LIMIT_FIELDS = ("daily_limit", "hourly_limit", "min_interval", "max_interval", "timezone")
# Error ``field`` names that differ from the form's input names.
FIELD_ALIASES = {"name": "display_name", "password": "password", "preset": "preset"}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def text(form: Any, name: str, limit: int = 4096) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


# Fields checked one by one as the user leaves them (same rules, so same messages, as the API).
LIVE_CHECKS: dict[str, Any] = {
    "display_name": lambda v: account_rules.display_name(v),
    "smtp_host": lambda v: account_rules.host(v, field="smtp_host"),
    "smtp_port": lambda v: account_rules.port(v, field="smtp_port") if v else None,
    "imap_host": lambda v: account_rules.host(v, field="imap_host") if v else None,
    "imap_port": lambda v: account_rules.port(v, field="imap_port") if v else None,
    "smtp_ca_pem": lambda v: account_rules.ca_pem(v, field="smtp_ca_pem"),
    "imap_ca_pem": lambda v: account_rules.ca_pem(v, field="imap_ca_pem"),
    "pin_sha256": lambda v: account_rules.pin(v),
}


def check_field(name: str, value: str) -> ValidationError | None:
    """The error for one field alone, or None (also for fields without a live check)."""
    check = LIVE_CHECKS.get(name)
    if check is None:
        return None
    try:
        check(value)
    except ValidationError as error:
        return error
    return None


def values_of(form: Any) -> dict[str, str]:
    values = {
        name: text(form, name, account_rules.CA_PEM_MAX_BYTES + 1 if name in PEM_FIELDS else 4096)
        for name in (*TEXT_FIELDS, *LIMIT_FIELDS)
    }
    values["no_auth"] = "1" if form.get("no_auth") == "1" else ""
    return values


def _port(value: str, field: str) -> int | None:
    return account_rules.port(value, field=field) if value else None


def _int(value: str, field: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise account_rules.invalid(
            ErrorCode.LIMIT_INVALID, field, minimum=0, maximum=100000, value=value
        ) from None


def to_input(form: Any) -> AccountInput:
    v = values_of(form)
    password = form.get("password")
    imap_password = form.get("imap_password")
    return AccountInput(
        email=v["email"],
        display_name=v["display_name"],
        preset=v["preset"] or None,
        smtp_host=v["smtp_host"] or None,
        smtp_port=_port(v["smtp_port"], "smtp_port"),
        smtp_security=v["smtp_security"] or None,
        username=v["username"] or None,
        password=Secret(password) if isinstance(password, str) and password else None,
        imap_host=v["imap_host"] or None,
        imap_port=_port(v["imap_port"], "imap_port"),
        imap_security=v["imap_security"] or None,
        imap_username=v["imap_username"] or None,
        imap_password=(
            Secret(imap_password) if isinstance(imap_password, str) and imap_password else None
        ),
        smtp_ca_pem=v["smtp_ca_pem"] or None,
        imap_ca_pem=v["imap_ca_pem"] or None,
        pin_sha256=v["pin_sha256"] or None,
        smtp_auth=v["no_auth"] != "1",
        force=form.get("force") == "1",
    )


def limit_changes(form: Any) -> dict[str, Any]:
    v = values_of(form)
    changes: dict[str, Any] = {}
    for name in ("daily_limit", "hourly_limit", "min_interval", "max_interval"):
        number = _int(v[name], name)
        if number is not None:
            changes[name] = number
    if v["timezone"]:
        changes["timezone"] = v["timezone"]
    return changes


def window_of(form: Any) -> dict[str, Any] | None:
    """The sending window from the account form; None when "any time" is chosen."""
    if form.get("window") != "on":
        return None
    days = []
    for value in form.getlist("days"):
        try:
            days.append(int(value))
        except (TypeError, ValueError):
            raise account_rules.invalid(ErrorCode.WINDOW_DAYS_INVALID, "days") from None
    return {"days": days, "start": text(form, "start", 8), "end": text(form, "end", 8)}


def apply_preset(values: dict[str, str], preset: Preset) -> dict[str, str]:
    """Fill the server fields from a preset (what the preset picker does)."""
    out = dict(values, preset=preset.key)
    if preset.is_custom:
        return out
    for name in (
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "imap_host",
        "imap_port",
        "imap_security",
    ):
        value = getattr(preset, name)
        out[name] = "" if value is None else str(value)
    return out


def apply_detection(values: dict[str, str], found: dict[str, Any]) -> dict[str, str]:
    """Fill the form from an autodetect result (see ``api.routes.presets.detect_settings``)."""
    out = dict(values)
    if not out.get("username") and found.get("username"):
        out["username"] = str(found["username"])
    for name in (
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "imap_host",
        "imap_port",
        "imap_security",
    ):
        if found.get(name) is not None:
            out[name] = str(found[name])
    out["preset"] = str(found.get("preset") or "")
    return out


def preset_for(values: dict[str, str]) -> Preset | None:
    key = values.get("preset") or ""
    if not key:
        return None
    try:
        return get_preset(key)
    except ValidationError:
        return None


def find_fingerprint(report: Any) -> str | None:
    """The SHA-256 certificate fingerprint carried by a Probar report, if any."""
    if isinstance(report, dict):
        for key, value in report.items():
            if isinstance(value, str) and ("fingerprint" in key or "sha256" in key):
                candidate = value.lower().replace(":", "")
                if _HEX64.match(candidate):
                    return candidate
            found = find_fingerprint(value)
            if found:
                return found
    if isinstance(report, list):
        for item in report:
            found = find_fingerprint(item)
            if found:
                return found
    return None
