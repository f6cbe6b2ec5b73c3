"""The health score: each rule of docs/accounts-table.md, the clamp and the levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fluenzr.sending import pauses
from fluenzr.services.account_health import CREDENTIAL_REASONS, Health, HealthFacts, health

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def _score(**facts: object) -> Health:
    base: dict[str, object] = {"status": "active", "status_reason": None, "last_test_ok": True}
    return health(HealthFacts(**{**base, **facts}), now=NOW)  # type: ignore[arg-type]


def _codes(result: Health) -> list[str]:
    return [reason.code for reason in result.reasons]


def test_a_tested_quiet_account_is_100_with_no_reason() -> None:
    result = _score(daily_limit=50)
    assert (result.score, result.level, result.reasons) == (100, "good", ())


@pytest.mark.parametrize(
    ("facts", "code", "points"),
    [
        ({"last_test_ok": None}, "test_never", 20),
        ({"last_test_ok": False}, "test_failed", 40),
        ({"sent_30d": 100, "bounces_30d": 5}, "bounce_high", 30),
        ({"sent_30d": 100, "bounces_30d": 2}, "bounce_elevated", 15),
        ({"auth_failures_30d": 1}, "auth_failures", 15),
        ({"auth_failures_30d": 5}, "auth_failures", 30),  # at most 30
        ({"status": "paused", "status_reason": "auth_failed"}, "needs_reconnect", 25),
        ({"status": "paused", "status_reason": "manual", "paused_since": NOW}, "paused", 10),
        (
            {
                "status": "paused",
                "status_reason": "manual",
                "paused_since": NOW - timedelta(days=2),
            },
            "paused_long",
            20,
        ),
        ({"sent_today": 50, "daily_limit": 50}, "cap_reached", 10),
        ({"sent_today": 45, "daily_limit": 50}, "cap_near", 5),
    ],
)
def test_each_rule(facts: dict[str, object], code: str, points: int) -> None:
    result = _score(**facts)
    assert [(r.code, r.points) for r in result.reasons] == [(code, points)]
    assert result.score == 100 - points


def test_few_sends_say_nothing_about_bounces() -> None:
    assert _score(sent_30d=9, bounces_30d=9).reasons == ()


def test_the_score_never_goes_below_zero_and_explains_every_point() -> None:
    result = _score(
        last_test_ok=False,
        sent_30d=20,
        bounces_30d=10,
        auth_failures_30d=3,
        status="paused",
        status_reason="auth_failed",
        sent_today=60,
        daily_limit=50,
    )
    assert result.score == 0 and result.level == "poor"
    assert _codes(result) == [
        "test_failed",
        "bounce_high",
        "auth_failures",
        "needs_reconnect",
        "cap_reached",
    ]
    shown = result.as_dict()
    assert shown["reasons"][1] == {
        "code": "bounce_high",
        "points": 30,
        "detail": {"rate": 0.5, "bounces": 10, "sent": 20},
    }


def test_levels() -> None:
    assert _score(last_test_ok=None).level == "good"  # 80
    assert _score(last_test_ok=False).level == "fair"  # 60
    assert _score(last_test_ok=False, auth_failures_30d=1).level == "poor"  # 45


def test_credential_reasons_are_sendings_until_fixed_pauses() -> None:
    assert {str(code) for code in pauses.UNTIL_FIXED} == CREDENTIAL_REASONS
