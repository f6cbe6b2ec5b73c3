"""Helpers of the account pages' forms: text of a posted field, the sending window, what the
preset picker and "Detectar" fill in, the fingerprint of a Probar report. The account fields
themselves are parsed by ``web.account_input`` from ``services.account_fields``."""

from __future__ import annotations

import re
from typing import Any

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.presets.catalogue import Preset, get_preset
from fluenzr.services import account_rules

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def text(form: Any, name: str, limit: int = 4096) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def window_of(form: Any) -> dict[str, Any] | None:
    """The sending window from the account form; None when "any time" is chosen."""
    if form.get("window") != "on":
        return None
    days = []
    for value in form.getlist("days"):
        try:
            days.append(int(value))
        except (TypeError, ValueError) as exc:
            raise account_rules.invalid(ErrorCode.WINDOW_DAYS_INVALID, "days") from exc
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
