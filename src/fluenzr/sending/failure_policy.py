"""What to do after an SMTP failure: the sending policy, as data and one decision function.

A failure is a value (:class:`Failure`: stage, reply code, enhanced code, text). The decision
classifies a reply with the shared classifier (:mod:`fluenzr.mail.reply_codes`: enhanced code
first, then reply code and stage, then the providers' wording for limits) and maps the taxonomy
code to an action.

Actions:
- ``pause``: the whole account stops (provider limit: until a resume time; authentication,
  relay or sender refused: until credentials change or a manual resume); its messages stay
  queued and no attempt is counted against them.
- ``backoff``: the account could not be reached (connection, TLS, timeout before DATA): retry
  the account later, messages untouched.
- ``defer``: this message failed temporarily (4xx): retry it later with backoff.
- ``fail``: permanent for this message (5xx).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from fluenzr.error_codes import kind
from fluenzr.mail import reply_codes
from fluenzr.mail.reply_codes import classify_reply


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


# Our stage → the classifier's stage (sending counts DATA and the final dot as one stage).
_STAGES = {
    Stage.CONNECT: reply_codes.Stage.GREETING,
    Stage.TLS: reply_codes.Stage.STARTTLS,
    Stage.AUTH: reply_codes.Stage.AUTH,
    Stage.MAIL: reply_codes.Stage.MAIL,
    Stage.RCPT: reply_codes.Stage.RCPT,
    Stage.DATA: reply_codes.Stage.MESSAGE,
}
# Account-wide and permanent: every later message would fail the same way, so the account
# pauses until a person fixes it (new credentials or a manual resume) instead of burning
# through its queue.
_STOP_ACCOUNT = frozenset(
    {
        "auth_failed",
        "auth_required",
        "auth_mechanism_unsupported",
        "relay_denied",
        "sender_rejected",
    }
)


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
    """The action for one failure, from the shared reply classifier (fluenzr.diagnose)."""
    if failure.kind is not Kind.REPLY or failure.code is None:
        return _connection(failure)
    text = f"{failure.enhanced} {failure.text}" if failure.enhanced else failure.text
    found = classify_reply(_STAGES[failure.stage], failure.code, text)
    code = found.code
    after = timedelta(seconds=found.retry_after) if found.retry_after else None
    if code in ("sending_limit", "auth_throttled"):
        return Decision(Action.PAUSE, "sending_limit", after)
    if code in _STOP_ACCOUNT:
        return Decision(Action.PAUSE, "auth_failed" if code.startswith("auth") else code)
    if code in ("server_unavailable", "unexpected_reply") or failure.stage in (
        Stage.CONNECT,
        Stage.TLS,
        Stage.AUTH,
    ):
        return Decision(Action.BACKOFF, code, after)
    if kind(code).retryable or failure.code < 500:
        return Decision(Action.DEFER, code, after)
    return Decision(Action.FAIL, code)
