"""What "Detectar desde el email" tells the user: what it found and where, that it could not
look anything up (no network or DNS), or that nothing is known — with host names to try."""

from __future__ import annotations

from typing import Any

from fluenzr.errors import ValidationError
from fluenzr.i18n import translate
from fluenzr.presets.catalogue import get_preset

NOTHING = "nothing found"
_DNS_SOURCES = ("mx", "srv")


def offline(detection: dict[str, Any]) -> bool:
    """True when every DNS lookup failed (timeout, no name server) rather than finding nothing."""
    dns = [r for r in detection.get("lookups", []) if r.get("source") in _DNS_SOURCES]
    return bool(dns) and all(not r.get("found") and r.get("detail") != NOTHING for r in dns)


def guesses(domain: str) -> list[str]:
    """Host names providers commonly use, for the user to try (each fills "Servidor SMTP")."""
    if not domain or len(domain) > 253:
        return []
    return [f"smtp.{domain}", f"mail.{domain}"]


def _provider(found: dict[str, Any]) -> str:
    key = found.get("preset")
    if key:
        try:
            return get_preset(str(key)).name
        except ValidationError:
            pass
    return str(found.get("smtp_host") or "")


def describe(found: dict[str, Any], lang: str) -> dict[str, Any]:
    """``{"kind", "text", "guesses"}`` for the form's note area."""
    detection = found.get("detection") or {}
    domain = str(detection.get("domain") or "")
    if found.get("smtp_host"):
        source = str(found.get("source") or "")
        where = translate(f"web.detect.source.{source}", lang) if source else ""
        text = translate("web.detect.found", lang, provider=_provider(found), source=where)
        return {"kind": "found", "text": text, "guesses": []}
    if offline(detection):
        text = translate("web.detect.offline", lang, domain=domain)
        return {"kind": "offline", "text": text, "guesses": guesses(domain)}
    text = translate("web.detect.unknown", lang, domain=domain)
    return {"kind": "unknown", "text": text, "guesses": guesses(domain)}
