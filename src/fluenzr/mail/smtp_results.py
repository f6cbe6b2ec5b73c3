"""Values the SMTP transport returns: capabilities, per-recipient results, send results."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError, mail_error
from fluenzr.mail.reply_codes import Accepted, ClassifiedReply, Stage


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
    recipient: str
    code: ErrorCode | Accepted  # "accepted" or an error code (recipient_rejected, sending_limit…)
    reply_code: int
    enhanced_code: str | None
    text: str
    retry_after: int | None = None

    @property
    def accepted(self) -> bool:
        return not isinstance(self.code, ErrorCode)


BeforeData = Callable[[tuple[RecipientResult, ...]], Awaitable[bool]]


@dataclass(frozen=True)
class SendResult:
    """What the server said about one message, per recipient."""

    recipients: tuple[RecipientResult, ...]
    stage: Stage  # where the transaction ended: MAIL, RCPT, DATA or MESSAGE
    reply: ClassifiedReply  # the deciding reply (final reply, or the failing MAIL/RCPT/DATA)

    @property
    def accepted(self) -> tuple[str, ...]:
        return tuple(r.recipient for r in self.recipients if r.accepted)

    @property
    def rejected(self) -> tuple[RecipientResult, ...]:
        return tuple(r for r in self.recipients if not r.accepted)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def error(self, *, host: str = "") -> MailError | None:
        """The first failure as a MailError (for reports), or None when all were accepted."""
        if self.ok:
            return None
        first = self.rejected[0]
        assert isinstance(first.code, ErrorCode)  # rejected: not "accepted"
        params: dict[str, Any] = {"host": host, "recipient": first.recipient, "stage": self.stage}
        if first.retry_after is not None:
            params["retry_after"] = first.retry_after
        return mail_error(
            first.code,
            params=params,
            detail=f"{first.reply_code} {first.text}",
            reply_code=first.reply_code,
            enhanced_code=first.enhanced_code,
        )


def recipient_result(recipient: str, reply: ClassifiedReply) -> RecipientResult:
    return RecipientResult(
        recipient, reply.code, reply.reply_code, reply.enhanced_code, reply.text, reply.retry_after
    )


__all__ = ["BeforeData", "Capabilities", "RecipientResult", "SendResult", "recipient_result"]
