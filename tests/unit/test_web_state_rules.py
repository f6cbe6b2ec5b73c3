"""Pure rules behind issue 16's screens: "Detectar" notes, the next-step badge, throttles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fluenzr.services.account_outlook import outlook
from fluenzr.services.account_probar import temporary_throttle
from fluenzr.services.account_views import AccountView
from fluenzr.web import detect_note

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, 13:00 in Madrid


def _lookups(detail: str) -> dict[str, Any]:
    return {
        "domain": "acme.example",
        "lookups": [
            {"source": "preset", "found": False, "detail": "nothing found"},
            {"source": "autoconfig", "found": False, "detail": "timeout"},
            {"source": "srv", "found": False, "detail": detail},
            {"source": "mx", "found": False, "detail": detail},
        ],
    }


def test_detect_note_tells_offline_from_unknown() -> None:
    offline = detect_note.describe({"detection": _lookups("timeout")}, "es")
    assert offline["kind"] == "offline" and "no tiene red o DNS" in offline["text"]
    assert offline["guesses"] == ["smtp.acme.example", "mail.acme.example"]
    unknown = detect_note.describe({"detection": _lookups("nothing found")}, "en")
    assert unknown["kind"] == "unknown" and "acme.example" in unknown["text"]
    found = detect_note.describe(
        {"smtp_host": "smtp.zoho.eu", "preset": "zoho-eu", "source": "preset"}, "es"
    )
    assert found["text"].startswith("Detectado: Zoho Mail (EU)")


def _view(**changes: Any) -> AccountView:
    base: dict[str, Any] = {
        "status": "active",
        "status_reason": None,
        "paused_until": None,
        "last_test_ok": True,
        "send_window": None,
        "timezone": "Europe/Madrid",
    }
    return AccountView.model_construct(**{**base, **changes})


def test_outlook_says_what_happens_next() -> None:
    assert outlook(_view(last_test_ok=None), now=NOW).kind == "untested"
    assert outlook(_view(), now=NOW).kind == "ready"
    window = {"days": [0, 1, 2, 3, 4], "start": "08:30", "end": "12:00"}
    closed = outlook(_view(send_window=window), now=NOW)
    assert (closed.kind, closed.at_text, closed.zone) == (
        "out_of_window",
        "2026-03-03 08:30",
        "Europe/Madrid",
    )
    overnight = {"days": [0], "start": "22:00", "end": "06:00"}
    assert outlook(_view(send_window=overnight), now=NOW).at_text == "22:00"
    paused = outlook(
        _view(status="paused", status_reason="rate_limited", paused_until=NOW + timedelta(hours=5)),
        now=NOW,
    )
    assert (paused.kind, paused.at_text) == ("paused", "18:00")
    assert outlook(_view(status="paused", status_reason="auth_failed"), now=NOW).kind == "reconnect"


def test_temporary_throttle_is_a_4xx_limit_only() -> None:
    assert temporary_throttle({"code": "sending_limit", "reply_code": 451})
    assert temporary_throttle({"code": "auth_throttled"})
    assert not temporary_throttle({"code": "sending_limit", "reply_code": 550})
    assert not temporary_throttle({"code": "auth_failed", "reply_code": 435})
    assert not temporary_throttle(None)
