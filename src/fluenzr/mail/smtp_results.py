"""Values the SMTP transport returns (capabilities, per-recipient results, send results) and the
error it raises (:class:`SmtpError`: a :class:`MailError` that knows its stage and reply)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fluenzr.error_codes import ErrorCode, Scope
from fluenzr.errors import MailError, use_variant
from fluenzr.mail.reply_codes import Accepted, ClassifiedReply, Stage


class SmtpError(MailError):
    """What the SMTP transport raises: a :class:`MailError` with the dialogue's :class:`Stage`
    and, when the server answered, its :class:`ClassifiedReply` (classified once, here).

    ``params["stage"]`` repeats the stage as text for messages and reports; code reads
    :attr:`stage` and :attr:`reply`."""

    def __init__(
        self,
        code: ErrorCode,
        *,
        stage: Stage,
        reply: ClassifiedReply | None = None,
        params: dict[str, Any] | None = None,
        detail: str | None = None,
        variant: str | None = None,
    ) -> None:
        self.stage = stage
        self.reply = reply
        super().__init__(
            code,
            params={**(params or {}), "stage": stage.value},
            detail=detail,
            reply_code=reply.reply_code if reply else None,
            enhanced_code=reply.enhanced_code if reply else None,
            scope=Scope.SMTP,
        )
        use_variant(self, variant)


@dataclass(frozen=True)
class Capabilities:
    extensions: dict[str, str]
    auth_mechanisms: tuple[str, ...]

    @property
    def starttls(self) -> bool:
        return "starttls" in self.extensions

    @property
    def smtputf8(self) -> bool:
        return "smtputf8" in self.extensions

    @property
    def size_limit(self) -> int | None:
        value = self.extensions.get("size", "").strip()
        return int(value) if value.isdigit() and int(value) > 0 else None


@dataclass(frozen=True)
class RecipientResult:
    """One recipient and the reply that decided it (its RCPT reply, or the final one)."""

    recipient: str
    reply: ClassifiedReply

    @property
    def code(self) -> ErrorCode | Accepted:
        """ "accepted" or an error code (recipient_rejected, sending_limit…)."""
        return self.reply.code

    @property
    def reply_code(self) -> int:
        return self.reply.reply_code

    @property
    def enhanced_code(self) -> str | None:
        return self.reply.enhanced_code

    @property
    def text(self) -> str:
        return self.reply.text

    @property
    def retry_after(self) -> int | None:
        return self.reply.retry_after

    @property
    def accepted(self) -> bool:
        return self.reply.accepted


BeforeData = Callable[[tuple[RecipientResult, ...]], Awaitable[bool]]


@dataclass(frozen=True)
class SendResult:
    """What the server said about one message, per recipient."""

    recipients: tuple[RecipientResult, ...]
    reply: ClassifiedReply  # the deciding reply (final reply, or the failing MAIL/RCPT/DATA)

    @property
    def stage(self) -> Stage:
        """Where the transaction ended: MAIL, RCPT, DATA or MESSAGE."""
        return self.reply.stage

    @property
    def accepted(self) -> tuple[str, ...]:
        return tuple(r.recipient for r in self.recipients if r.accepted)

    @property
    def rejected(self) -> tuple[RecipientResult, ...]:
        return tuple(r for r in self.recipients if not r.accepted)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def error(self, *, host: str = "") -> SmtpError | None:
        """The first failure as an error (for reports), or None when all were accepted."""
        if self.ok:
            return None
        first = self.rejected[0]
        assert first.reply.error is not None  # rejected: not "accepted"
        params: dict[str, Any] = {"host": host, "recipient": first.recipient}
        if first.retry_after is not None:
            params["retry_after"] = first.retry_after
        return SmtpError(
            first.reply.error,
            stage=self.stage,
            reply=first.reply,
            params=params,
            detail=f"{first.reply_code} {first.text}",
        )


__all__ = ["BeforeData", "Capabilities", "RecipientResult", "SendResult", "SmtpError"]
