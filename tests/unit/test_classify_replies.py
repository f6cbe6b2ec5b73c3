"""SMTP reply classification: one case per row of the tables (no I/O)."""

from __future__ import annotations

import pytest

from fluenzr.error_codes import ErrorCode
from fluenzr.mail.reply_codes import (
    LIMIT_PATTERNS,
    LimitPattern,
    Stage,
    classify_reply,
    parse_reply,
    retry_after_hint,
)

S = Stage
# (stage, reply code, text, expected code)
CASES: list[tuple[Stage, int, str, str]] = [
    (S.MESSAGE, 250, "2.0.0 Ok: queued as 4C1", "accepted"),
    (S.DATA, 354, "End data with <CR><LF>.<CR><LF>", "accepted"),
    (S.GREETING, 421, "4.3.2 Service not available", "server_unavailable"),
    (S.GREETING, 554, "5.3.2 No SMTP service here", "server_unavailable"),
    (S.MAIL, 421, "4.4.2 mail.example.com Error: timeout exceeded", "server_unavailable"),
    (S.AUTH, 535, "5.7.8 Error: authentication failed: authentication failure", "auth_failed"),
    (S.AUTH, 535, "Incorrect authentication data", "auth_failed"),
    (
        S.AUTH,
        534,
        "5.7.9 Application-specific password required.",
        "app_password_required",
    ),  # Gmail: the AUTH_PATTERNS row
    (S.AUTH, 504, "5.5.4 Unrecognized authentication type", "auth_mechanism_unsupported"),
    (S.AUTH, 454, "4.7.0 Temporary authentication failure", "temporary_failure"),
    (S.AUTH, 454, "4.7.0 Too many login attempts, please try again later.", "auth_throttled"),
    (S.MAIL, 530, "5.7.0 Authentication required", "auth_required"),
    (S.MAIL, 530, "5.7.0 Must issue a STARTTLS command first", "auth_required"),
    (S.RCPT, 554, "5.7.1 <x@example.org>: Relay access denied", "relay_denied"),
    (S.MAIL, 553, "5.1.7 The sender address is invalid", "sender_rejected"),
    (S.MAIL, 550, "5.7.1 Sender not allowed", "sender_rejected"),
    (
        S.RCPT,
        553,
        "5.7.1 <a@x.test>: Sender address rejected: not owned by user b@x.test",
        "sender_rejected",
    ),
    (
        S.RCPT,
        550,
        "5.1.1 <n@fluenzr.test>: Recipient address rejected: User unknown",
        "recipient_rejected",
    ),
    (S.RCPT, 550, "No such user here", "recipient_rejected"),
    (S.RCPT, 551, "5.1.6 User has moved", "recipient_rejected"),
    (
        S.RCPT,
        550,
        "5.2.1 The email account that you tried to reach is disabled",
        "recipient_rejected",
    ),
    (S.RCPT, 450, "4.1.1 <a@x.test>: Recipient address rejected: unverified", "temporary_failure"),
    (S.RCPT, 452, "4.2.2 The email account that you tried to reach is over quota", "mailbox_full"),
    (S.MESSAGE, 552, "5.2.2 Mailbox full", "mailbox_full"),
    (S.RCPT, 552, "Requested mail action aborted: mailbox is full", "mailbox_full"),
    (S.MESSAGE, 552, "5.3.4 Message size exceeds fixed limit", "message_too_large"),
    (S.MESSAGE, 554, "5.7.1 Message rejected as spam", "message_rejected"),
    (S.MESSAGE, 550, "5.7.26 Unauthenticated email is not accepted (DMARC)", "message_rejected"),
    (S.DATA, 554, "5.5.1 Error: no valid recipients", "message_rejected"),
    (S.MESSAGE, 451, "4.3.0 Error: queue file write error", "temporary_failure"),
    (S.RCPT, 452, "4.3.1 Insufficient system storage", "temporary_failure"),
    (S.EHLO, 502, "5.5.2 Error: command not recognized", "unexpected_reply"),
]


@pytest.mark.parametrize(("stage", "code", "text", "expected"), CASES)
def test_reply_case(stage: Stage, code: int, text: str, expected: str) -> None:
    result = classify_reply(stage, code, text)
    assert result.code == expected
    assert expected == "accepted" or expected in set(ErrorCode)
    # One typed value: where, the reply code, the enhanced code, the taxonomy code.
    assert (result.stage, result.reply_code) == (stage, code)
    assert result.error == (None if expected == "accepted" else expected)


@pytest.mark.parametrize(
    "row", LIMIT_PATTERNS, ids=[f"{r.provider}-{i}" for i, r in enumerate(LIMIT_PATTERNS)]
)
def test_limit_pattern_row(row: LimitPattern) -> None:
    code, text = row.example
    assert row.pattern.search(text)
    for stage in (S.MAIL, S.RCPT, S.MESSAGE):
        assert classify_reply(stage, code, text).code == "sending_limit"


def test_limit_needs_a_limit_reply_code() -> None:
    # A 535 that mentions a limit is still an authentication failure.
    assert classify_reply(S.AUTH, 535, "5.7.8 rate limit of bad passwords").code == "auth_failed"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("4.7.0 Try again in 5 minutes", 300),
        ("4.7.1 Rate limited, retry in 30 seconds", 30),
        ("4.7.1 please wait 2 hours", 7200),
        ("4.7.1 Retry-After: 120", 120),
        ("4.7.0 try again after 90s", 90),
        ("4.7.1 Trop de messages, réessayez dans 10 minutes", 600),
        ("4.7.1 Demasiados mensajes, inténtelo de nuevo en 15 minutos", 900),
        ("4.7.1 Error: too much mail from 127.0.0.1", None),
        ("5.4.6 Unusual sending activity detected. Please try after sometime.", None),
        ("4.7.1 Sender rate overlimit - 101.0 / 1h", None),
    ],
)
def test_retry_after_hint(text: str, seconds: int | None) -> None:
    assert retry_after_hint(text) == seconds


def test_classification_carries_retry_after_and_enhanced_code() -> None:
    result = classify_reply(S.MAIL, 450, "4.7.1 Too many messages, try again in 3 minutes")
    assert (result.code, result.enhanced_code, result.retry_after) == (
        "sending_limit",
        "4.7.1",
        180,
    )
    assert result.retryable


def test_parse_reply_without_enhanced_code() -> None:
    assert parse_reply(550, "User unknown").enhanced is None
    assert parse_reply(550, "5.1.1 User unknown").enhanced == "5.1.1"
