"""What the Probar panel shows of a finished job: the failure in words, a temporary limit as a
warning with its reset time, the certificate to trust, and the raw detail kept apart.

Raw library text (``[SSL: CERTIFICATE_VERIFY_FAILED]…``), reply codes and internal codes are
never the message: they go to a collapsible "detalle técnico".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fluenzr.services.account_probar import temporary_throttle
from fluenzr.services.jobs import JobView
from fluenzr.web import forms
from fluenzr.web.render import error_text

_TECH_KEYS = ("code", "reply_code", "enhanced_code", "step", "detail")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def technical(error: dict[str, Any] | None, steps: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(label key, value) pairs for the "detalle técnico" block."""
    out: list[tuple[str, str]] = []
    if isinstance(error, dict):
        for key in _TECH_KEYS:
            value = error.get(key)
            if value not in (None, ""):
                out.append((f"web.tech.{key}", str(value)[:2000]))
    for step in steps:
        if step.get("status") == "failed" and step.get("detail"):
            detail = str(step["detail"])[:2000]
            if all(detail != value for _, value in out):
                out.append(("web.tech.step_detail", detail))
    return out


def certificate(error: dict[str, Any] | None) -> dict[str, str]:
    params = error.get("params") if isinstance(error, dict) else None
    if not isinstance(params, dict):
        return {}
    facts = {}
    for key in ("cert_subject", "cert_issuer", "cert_not_before", "cert_not_after"):
        value = params.get(key)
        if isinstance(value, str) and value:
            facts[key.removeprefix("cert_")] = value[:300]
    for key in ("not_before", "not_after"):
        if key in facts:
            try:
                facts[key] = datetime.fromisoformat(facts[key]).strftime("%Y-%m-%d")
            except ValueError:
                facts.pop(key)
    return facts


def _reset_at(job: JobView, error: dict[str, Any], zone: ZoneInfo) -> str | None:
    params = error.get("params") if isinstance(error.get("params"), dict) else {}
    seconds = params.get("retry_after") if params else None
    if not isinstance(seconds, int) or seconds <= 0 or seconds > 7 * 86400:
        return None
    base = job.finished_at or job.created_at
    return (base + timedelta(seconds=seconds)).astimezone(zone).strftime("%H:%M")


def panel_context(job: JobView, *, lang: str, timezone: str | None = None) -> dict[str, Any]:
    report_error = (job.result or {}).get("error")
    error = report_error if isinstance(report_error, dict) else None
    done = job.status == "done"
    zone = _zone(timezone)
    throttle = done and error is not None and temporary_throttle(error)
    return {
        "failure": error_text(error, lang) if error else None,
        "fingerprint": forms.find_fingerprint(job.result) if done else None,
        "cert": certificate(error) if done else {},
        "tech": technical(error, job.steps) if done else [],
        "throttle": throttle,
        "reset_at": _reset_at(job, error, zone) if throttle and error else None,
        "zone": str(zone),
    }
