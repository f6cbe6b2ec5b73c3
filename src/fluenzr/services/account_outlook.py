"""What will happen next with an account, for its status badge.

"sin probar" until a Probar passes; "reconexión necesaria" when a pause waits for new
credentials; "en pausa hasta 18:41 (límite del proveedor)"; "fuera de horario — próximo envío
08:30 (Europe/Madrid)". Times are given in the account's own time zone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fluenzr.sending import pacing, pauses
from fluenzr.services.account_views import AccountView


@dataclass(frozen=True)
class Outlook:
    # untested | test_failed | reconnect | paused | out_of_window | ready
    kind: str
    reason: str | None = None
    at: datetime | None = None  # in the account's time zone
    zone: str = "UTC"
    today: bool = True  # ``at`` falls on today's date in the account's zone

    @property
    def at_text(self) -> str:
        """``08:30``, or ``2026-03-09 08:30`` when it is not today in that zone."""
        if self.at is None:
            return ""
        return self.at.strftime("%H:%M" if self.today else "%Y-%m-%d %H:%M")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def outlook(view: AccountView, *, now: datetime) -> Outlook:
    """The next thing that happens with ``view`` (``now`` aware)."""
    tz = _zone(view.timezone)
    zone = view.timezone if str(tz) == view.timezone else "UTC"
    if view.status == "paused":
        if view.status_reason in pauses.UNTIL_FIXED:
            return Outlook("reconnect", view.status_reason, zone=zone)
        until = view.paused_until.astimezone(tz) if view.paused_until else None
        return Outlook("paused", view.status_reason, until, zone, _today(until, now, tz))
    if view.status == "error":
        return Outlook("test_failed", view.status_reason, zone=zone)
    if view.last_test_ok is not True:
        return Outlook("untested", zone=zone)
    if view.send_window:
        window = pacing.Window.parse(json.dumps(view.send_window))
        opens = window.next_open(now, tz) if window else None
        if opens is not None:
            local = opens.astimezone(tz)
            return Outlook("out_of_window", at=local, zone=zone, today=_today(local, now, tz))
    return Outlook("ready", zone=zone)


def _today(when: datetime | None, now: datetime, tz: ZoneInfo) -> bool:
    return when is None or when.astimezone(tz).date() == now.astimezone(tz).date()
