"""One SMTP connection of the worker, reused for an account's consecutive messages.

It runs on the shared transport :class:`fluenzr.mail.smtp.SmtpSession` (which alone translates
the SMTP library's exceptions into :class:`MailError`); this adapter only turns the transport's
errors and per-recipient results into the sending policy's values
(:class:`~fluenzr.sending.failure_policy.Failure`). A transaction is split where exactly-once needs
it: MAIL and RCPT first (nothing can be delivered yet), then the caller's ``before_data`` hook
persists ``sending``, then DATA.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fluenzr.core.endpoints import Endpoint
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError
from fluenzr.mail import reply_codes, smtp
from fluenzr.mail.smtp_results import RecipientResult
from fluenzr.sending.failure_policy import Failure, Kind, Phase, phase_of

# Where a refusal fails the whole transaction (a RCPT refusal is per recipient).
_WHOLE_TRANSACTION = frozenset(
    {reply_codes.Stage.MAIL, reply_codes.Stage.DATA, reply_codes.Stage.MESSAGE}
)
_TLS = frozenset({"certificate_invalid", "tls_failed", "tls_mode_mismatch", "starttls_unavailable"})
_UNREACHABLE = frozenset({"connection_refused", "dns_not_found", "host_unreachable"})


class SmtpFailure(Exception):
    def __init__(self, failure: Failure) -> None:
        self.failure = failure
        super().__init__(failure.detail)


@dataclass(frozen=True)
class RecipientOutcome:
    email: str
    failure: Failure | None  # None: accepted


def _reply_failure(
    stage: Phase,
    code: int,
    enhanced: str | None,
    text: str,
    *,
    reason: ErrorCode,
    retry_after: int | None,
) -> Failure:
    text = " ".join(text.split())
    if text[:3] == str(code):
        text = text[3:].lstrip(" -")
    if enhanced and text.startswith(enhanced):
        text = text[len(enhanced) :].lstrip()
    return Failure(
        stage=stage,
        kind=Kind.REPLY,
        code=code,
        enhanced=enhanced,
        text=text[:500],
        reason=reason,
        retry_after=retry_after,
    )


def failure_of(error: MailError, *, at_least: Phase = Phase.CONNECT) -> Failure:
    """A transport error as the policy's value. ``at_least``: errors raised while sending a
    message (a connection found dead at MAIL) count from that stage, not the greeting's."""
    stage = phase_of(str(error.params.get("stage", "")))
    if at_least is Phase.MAIL and stage in (Phase.CONNECT, Phase.TLS, Phase.AUTH):
        stage = Phase.MAIL
    if error.reply_code is not None:
        after = error.params.get("retry_after")
        return _reply_failure(
            stage,
            error.reply_code,
            error.enhanced_code,
            error.detail or "",
            reason=error.code,
            retry_after=after if isinstance(after, int) else None,
        )
    text = (error.detail or error.code)[:300]
    if error.code is ErrorCode.TIMEOUT:
        return Failure(stage=stage, kind=Kind.TIMEOUT, text=text)
    if error.code in _TLS:
        return Failure(stage=Phase.TLS, kind=Kind.TLS, text=text)
    if error.code in _UNREACHABLE and stage is Phase.CONNECT:
        return Failure(stage=stage, kind=Kind.REFUSED, text=text)
    return Failure(stage=stage, kind=Kind.DISCONNECTED, text=text)


def _recipient(reply: RecipientResult) -> RecipientOutcome:
    if not isinstance(reply.code, ErrorCode):  # accepted
        return RecipientOutcome(reply.recipient, None)
    failure = _reply_failure(
        Phase.RCPT,
        reply.reply_code,
        reply.enhanced_code,
        reply.text,
        reason=reply.code,
        retry_after=reply.retry_after,
    )
    return RecipientOutcome(reply.recipient, failure)


def _temporary(results: Sequence[RecipientResult]) -> bool:
    return any(not r.accepted and r.reply_code < 500 for r in results)


class AccountConnection:
    """A logged-in connection. ``send`` runs one transaction; ``close`` says QUIT."""

    def __init__(self, transport: smtp.SmtpSession) -> None:
        self._transport = transport
        self.last_used = time.monotonic()

    @property
    def alive(self) -> bool:
        return self._transport.connected

    @classmethod
    async def open(cls, endpoint: Endpoint, *, timeout: float) -> AccountConnection:  # noqa: ASYNC109
        transport = smtp.SmtpSession(endpoint, timeout=timeout)
        try:
            await transport.open()
            await transport.hello()
            # Always AUTH, unless the account explicitly says "no authentication" (the
            # transport allows that only under the single-user egress policy).
            await transport.login()
        except MailError as exc:
            await transport.aclose()
            raise SmtpFailure(failure_of(exc)) from None
        return cls(transport)

    async def send(
        self,
        message: bytes,
        *,
        sender: str,
        recipients: Sequence[str],
        before_data: Callable[[], Awaitable[bool]],
    ) -> list[RecipientOutcome]:
        """MAIL, RCPT each, then ``await before_data()`` (persist ``sending``), then DATA.

        Returns per-recipient results; DATA runs only when every refusal is permanent and one
        recipient at least was accepted (else RSET: a temporary refusal retries them all).
        Raises SmtpFailure for a failure of the whole transaction (nothing was delivered
        unless the stage is DATA)."""
        self.last_used = time.monotonic()

        async def go_on(results: tuple[RecipientResult, ...]) -> bool:
            if _temporary(results):
                return False
            return await before_data()  # False: not ours any more, RSET instead of DATA

        try:
            result = await self._transport.send(
                message, sender=sender, recipients=recipients, before_data=go_on
            )
        except MailError as exc:
            raise SmtpFailure(failure_of(exc, at_least=Phase.MAIL)) from None
        self.last_used = time.monotonic()
        if (
            result.stage
            in (reply_codes.Stage.MAIL, reply_codes.Stage.DATA, reply_codes.Stage.MESSAGE)
            and isinstance(result.reply.code, ErrorCode)  # not accepted
        ):
            reply = result.reply
            failure = _reply_failure(
                phase_of(result.stage),
                reply.reply_code,
                reply.enhanced_code,
                reply.text,
                reason=result.reply.code,
                retry_after=reply.retry_after,
            )
            raise SmtpFailure(failure)
        return [_recipient(r) for r in result.recipients]

    async def close(self) -> None:
        await self._transport.quit()
