"""What to do after an SMTP failure: the sending policy, as data and one decision function.

A failure is a value (:class:`Failure`): the transport's :class:`~fluenzr.mail.reply_codes.Stage`
(the one stage enum), what kind of failure it was and, when the server answered, the transport's
:class:`~fluenzr.mail.reply_codes.ClassifiedReply`. A reply is classified once, in the transport
(:mod:`fluenzr.mail.reply_codes`: enhanced code first, then reply code and stage, then the
providers' wording for limits); the decision maps that classification to an action without
reading the text again.

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

from fluenzr.error_codes import Category, ErrorCode
from fluenzr.mail.reply_codes import ClassifiedReply, Stage


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
    reply: ClassifiedReply | None = None  # the server's refusal, as the transport classified it
    note: str = ""  # what went wrong when there was no reply (the library's words)

    @property
    def code(self) -> int | None:
        return self.reply.reply_code if self.reply else None

    @property
    def enhanced(self) -> str | None:
        return self.reply.enhanced_code if self.reply else None

    @property
    def reason(self) -> ErrorCode | None:
        """The reply's taxonomy code."""
        return self.reply.error if self.reply else None

    @property
    def retry_after(self) -> int | None:
        """Seconds, when the server said when to try again."""
        return self.reply.retry_after if self.reply else None

    @property
    def text(self) -> str:
        return (self.reply.message if self.reply else self.note)[:500]

    @property
    def detail(self) -> str:
        parts = [str(self.code) if self.code else "", self.enhanced or "", self.text]
        return " ".join(p for p in parts if p).strip() or self.kind.value


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: ErrorCode  # stored on the message / account; its message is ``reason.message_key``
    retry_after: timedelta | None = None


# Account-wide and permanent: every later message would fail the same way, so the account
# pauses until a person fixes it (new credentials or a manual resume) instead of burning
# through its queue.
_STOP_ACCOUNT = frozenset(
    {
        ErrorCode.AUTH_FAILED,
        ErrorCode.AUTH_REQUIRED,
        ErrorCode.AUTH_MECHANISM_UNSUPPORTED,
        ErrorCode.RELAY_DENIED,
        ErrorCode.SENDER_REJECTED,
    }
)


def _connection(failure: Failure) -> Decision:
    reason = {
        Kind.TIMEOUT: ErrorCode.TIMEOUT,
        Kind.TLS: ErrorCode.TLS_FAILED,
        Kind.REFUSED: ErrorCode.CONNECTION_REFUSED,
        Kind.DISCONNECTED: ErrorCode.CONNECTION_LOST,
    }.get(failure.kind, ErrorCode.CONNECTION_FAILED)
    # Once DATA has started only this message is retried; before, the account backs off.
    action = Action.DEFER if failure.stage.transfers_message else Action.BACKOFF
    return Decision(action, reason)


def decide(failure: Failure) -> Decision:
    """The action for one failure, from the transport's classification of the reply."""
    if failure.kind is not Kind.REPLY or failure.code is None or failure.reason is None:
        return _connection(failure)
    code = failure.reason
    after = timedelta(seconds=failure.retry_after) if failure.retry_after else None
    if code.category is Category.SENDING_LIMIT or code is ErrorCode.AUTH_THROTTLED:
        return Decision(Action.PAUSE, ErrorCode.SENDING_LIMIT, after)
    if code in _STOP_ACCOUNT:
        # Every authentication refusal pauses as ``auth_failed``: one reason to fix credentials.
        auth = code.category is Category.AUTH and code is not ErrorCode.RELAY_DENIED
        return Decision(Action.PAUSE, ErrorCode.AUTH_FAILED if auth else code)
    if code in (ErrorCode.SERVER_UNAVAILABLE, ErrorCode.UNEXPECTED_REPLY) or (
        failure.stage.opens_session
    ):
        return Decision(Action.BACKOFF, code, after)
    if code.retryable or failure.code < 500:
        return Decision(Action.DEFER, code, after)
    return Decision(Action.FAIL, code)
