"""Autodetect for the "+ SMTP" form: an address in, the form's fields out (API and web UI)."""

from __future__ import annotations

from typing import Any

from fluenzr.diagnose.autodetect import AutodetectSeams, autodetect
from fluenzr.i18n import translate
from fluenzr.presets import catalogue


async def detect_settings(email: str, *, seams: AutodetectSeams, lang: str) -> dict[str, Any]:
    """Fields for the "+ SMTP" form from an address: presets first, then the domain's published
    settings (autoconfig, SRV, MX) and finally probing likely hosts (fluenzr.diagnose)."""
    detection = (await autodetect(email, seams=seams)).to_dict()
    fields: dict[str, Any] = {
        "email": detection["email"],
        "username": detection["email"],
        "source": "none",
        "detection": detection,
    }
    for protocol in ("smtp", "imap"):
        chosen = detection.get(protocol)
        if not chosen:
            continue
        fields[f"{protocol}_host"] = chosen["host"]
        fields[f"{protocol}_port"] = chosen["port"]
        fields[f"{protocol}_security"] = chosen["security"]
        if protocol == "smtp":
            fields["username"] = chosen["username"] or detection["email"]
            fields["source"] = chosen["source"]
            fields["preset"] = chosen.get("provider")
    key = fields.get("preset")
    preset = next((p for p in catalogue.list_presets() if p.key == key), None) if key else None
    if preset is not None:
        fields["app_password_required"] = preset.app_password_required
        fields["note"] = translate(preset.note_key, lang) if preset.note_key else None
    return fields
