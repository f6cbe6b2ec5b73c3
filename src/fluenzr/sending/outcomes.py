"""What to do after an SMTP failure: the sending policy, as data and one decision function.

A failure is a value (:class:`Failure`: stage, reply code, enhanced code, text). The decision
reads the reply code and the enhanced status code first; provider wording for limits lives in
``LIMIT_PATTERNS`` (a data table, one test per row).

Actions:
- ``pause``: the whole account stops (provider limit, or authentication failed); its messages
  stay queued and no attempt is counted against them.
- ``backoff``: the account could not be reached (connection, TLS, timeout before DATA): retry
  the account later, messages untouched.
- ``defer``: this message failed temporarily (4xx): retry it later with backoff.
- ``fail``: permanent for this message (5xx).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Stage(StrEnum):
    CONNECT = "connect"
    TLS = "tls"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"


class Kind(StrEnum):
    REPLY = "reply"  # the server answered with an error code
    DISCONNECTED = "disconnected"
    TIMEOUT = "timeout"
    REFUSED = "refused"  # TCP connect failed
    TLS = "tls"  # handshake / certificate


class Action(StrEnum):
    PAUSE = "pause"
    BACKOFF = "backoff"
    DEFER = "defer"
    FAIL = "fail"


@dataclass(frozen=True)
class Failure:
    stage: Stage
    kind: Kind
    code: int | None = None
    enhanced: str | None = None
    text: str = ""

    @property
    def detail(self) -> str:
        parts = [str(self.code) if self.code else "", self.enhanced or "", self.text]
        return " ".join(p for p in parts if p).strip() or self.kind.value


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str  # stable error code, also the i18n key suffix
    retry_after: timedelta | None = None


# Provider wording for "you are sending too much" (case-insensitive). One test per row.
LIMIT_PATTERNS: tuple[str, ...] = (
    r"too much mail",
    r"too many (messages|emails|mails|recipients per (hour|day))",
    r"(sending|send|daily|hourly|message|outbound|submission) (limit|quota)",
    r"rate[- ]?limit",
    r"throttl",
    r"quota (exceeded|reached)",
    r"(limit|quota) (exceeded|reached)",
    r"exceeded .{0,40}(limit|quota)",
)
_LIMIT = re.compile("|".join(f"(?:{p})" for p in LIMIT_PATTERNS), re.IGNORECASE)
# Enhanced codes that mean a sending limit whatever the wording (RFC 3463 + provider use).
LIMIT_ENHANCED = frozenset({"4.7.28", "5.4.5", "4.4.5", "5.7.28"})
AUTH_CODES = frozenset({530, 534, 535, 538})
_RETRY = re.compile(
    r"(?:in|after|wait|retry(?:[- ]after)?)\s+(\d{1,6})\s*"
    r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b",
    re.IGNORECASE,
)
_UNIT = {"s": 1, "m": 60, "h": 3600}


def retry_hint(text: str) -> timedelta | None:
    """'try again in 60 seconds' → 60 s; None when the reply names no time."""
    match = _RETRY.search(text)
    if match is None:
        return None
    seconds = int(match.group(1)) * _UNIT[match.group(2)[0].lower()]
    return timedelta(seconds=min(seconds, 86_400))


def is_limit(failure: Failure) -> bool:
    if failure.enhanced in LIMIT_ENHANCED:
        return True
    return bool(_LIMIT.search(failure.text))


def _connection(failure: Failure) -> Decision:
    reason = {
        Kind.TIMEOUT: "timeout",
        Kind.TLS: "tls_failed",
        Kind.REFUSED: "connection_refused",
        Kind.DISCONNECTED: "connection_lost",
    }.get(failure.kind, "connection_failed")
    # Once DATA has started only this message is retried; before, the account backs off.
    action = Action.DEFER if failure.stage is Stage.DATA else Action.BACKOFF
    return Decision(action, reason)


def decide(failure: Failure) -> Decision:
    if failure.kind is not Kind.REPLY or failure.code is None:
        return _connection(failure)
    code, enhanced = failure.code, failure.enhanced or ""
    if is_limit(failure):
        return Decision(Action.PAUSE, "sending_limit", retry_hint(failure.text))
    if code in AUTH_CODES or (enhanced in {"5.7.8", "5.7.0"} and failure.stage is Stage.AUTH):
        return Decision(Action.PAUSE, "auth_failed")
    if failure.stage in (Stage.CONNECT, Stage.TLS, Stage.AUTH) or code == 421:
        # Greeting refused, STARTTLS refused, temporary AUTH failure (454), service closing.
        return Decision(Action.BACKOFF, "server_unavailable", retry_hint(failure.text))
    if 400 <= code < 500 or enhanced.startswith("4.") or enhanced == "5.2.2":
        return Decision(Action.DEFER, "temporary_failure", retry_hint(failure.text))
    if code == 552 or enhanced == "5.3.4":
        return Decision(Action.FAIL, "message_too_large")
    if failure.stage is Stage.RCPT:
        return Decision(Action.FAIL, "recipient_rejected")
    if failure.stage is Stage.MAIL:
        return Decision(Action.FAIL, "sender_rejected")
    return Decision(Action.FAIL, "message_rejected")
