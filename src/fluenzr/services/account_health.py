"""A health score per account (0–100) and the reasons it is not 100: the table's badge.

A pure function of facts the database already holds (the account row, its events of the last
30 days, its sending state); nothing here reads or writes. The formula is documented in
docs/accounts-table.md — keep the two in step (tests/unit/test_account_health.py checks each
rule). Every deduction is a :class:`Reason` with a stable ``code`` (shown through the catalogue
key ``fleet.health.<code>``) and the figures it was computed from, so the badge's tooltip, the
API and ``--json`` explain the score the same way.

Core-only imports: ``fluenzr accounts list --json`` computes it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# The pauses that last until the credentials are fixed (``sending.pauses.UNTIL_FIXED``; a unit
# test keeps the two equal; importing sending here would load the ORM at CLI start-up).
CREDENTIAL_REASONS: frozenset[str] = frozenset(
    {
        "auth_failed",
        "relay_denied",
        "sender_rejected",
        "credentials_endpoint_changed",
        "credentials_need_rebind",
        "reconnect_required",
    }
)

MIN_SENT_FOR_BOUNCE = 10  # fewer sends than this say nothing about a bounce rate
BOUNCE_HIGH = 0.05
BOUNCE_ELEVATED = 0.02
AUTH_FAILURE_POINTS = 15
AUTH_FAILURE_MAX = 30
PAUSED_LONG = timedelta(hours=24)
GOOD = 80
FAIR = 50


@dataclass(frozen=True)
class HealthFacts:
    status: str  # active | paused | error
    status_reason: str | None
    last_test_ok: bool | None
    sent_30d: int = 0
    bounces_30d: int = 0
    auth_failures_30d: int = 0  # account_paused events for a credential reason
    paused_since: datetime | None = None
    sent_today: int = 0
    daily_limit: int = 0


@dataclass(frozen=True)
class Reason:
    code: str
    points: int  # subtracted from 100
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "points": self.points, "detail": dict(self.detail)}


@dataclass(frozen=True)
class Health:
    score: int
    level: str  # good | fair | poor
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "level": self.level,
            "reasons": [reason.as_dict() for reason in self.reasons],
        }


def _test(facts: HealthFacts) -> Reason | None:
    if facts.last_test_ok is None:
        return Reason("test_never", 20)
    if facts.last_test_ok is False:
        return Reason("test_failed", 40)
    return None


def _bounces(facts: HealthFacts) -> Reason | None:
    if facts.sent_30d < MIN_SENT_FOR_BOUNCE:
        return None
    rate = facts.bounces_30d / facts.sent_30d
    detail = {"rate": round(rate, 4), "bounces": facts.bounces_30d, "sent": facts.sent_30d}
    if rate >= BOUNCE_HIGH:
        return Reason("bounce_high", 30, detail)
    if rate >= BOUNCE_ELEVATED:
        return Reason("bounce_elevated", 15, detail)
    return None


def _auth(facts: HealthFacts) -> Reason | None:
    if not facts.auth_failures_30d:
        return None
    points = min(AUTH_FAILURE_MAX, AUTH_FAILURE_POINTS * facts.auth_failures_30d)
    return Reason("auth_failures", points, {"count": facts.auth_failures_30d})


def _paused(facts: HealthFacts, now: datetime) -> Reason | None:
    if facts.status != "paused":
        return None
    if facts.status_reason in CREDENTIAL_REASONS:
        return Reason("needs_reconnect", 25, {"reason": facts.status_reason})
    hours = 0
    if facts.paused_since is not None:
        hours = max(0, int((now - facts.paused_since).total_seconds() // 3600))
    detail = {"hours": hours, "reason": facts.status_reason}
    if facts.paused_since is not None and now - facts.paused_since >= PAUSED_LONG:
        return Reason("paused_long", 20, detail)
    return Reason("paused", 10, detail)


def _cap(facts: HealthFacts) -> Reason | None:
    if facts.daily_limit <= 0:
        return None
    detail = {"sent": facts.sent_today, "cap": facts.daily_limit}
    if facts.sent_today >= facts.daily_limit:
        return Reason("cap_reached", 10, detail)
    if facts.sent_today * 10 >= facts.daily_limit * 9:
        return Reason("cap_near", 5, detail)
    return None


def health(facts: HealthFacts, *, now: datetime) -> Health:
    """100 minus each rule's points (at least 0); ``now`` and ``paused_since`` aware (UTC)."""
    found = [
        reason
        for reason in (
            _test(facts),
            _bounces(facts),
            _auth(facts),
            _paused(facts, now),
            _cap(facts),
        )
        if reason is not None
    ]
    score = max(0, 100 - sum(reason.points for reason in found))
    level = "good" if score >= GOOD else "fair" if score >= FAIR else "poor"
    return Health(score=score, level=level, reasons=tuple(found))
