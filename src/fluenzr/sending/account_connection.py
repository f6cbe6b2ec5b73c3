"""One SMTP connection of the worker, reused for an account's consecutive messages.

It runs on the shared transport :class:`fluenzr.mail.smtp.SmtpSession` (which alone translates
the SMTP library's exceptions into :class:`MailError`); this adapter only turns the transport's
errors (:class:`~fluenzr.mail.smtp_results.SmtpError`: stage + classified reply) and
per-recipient results into the sending policy's values
(:class:`~fluenzr.sending.failure_policy.Failure`), without reading reply text again.
A transaction is split where exactly-once needs it: MAIL and RCPT first (nothing can be
delivered yet), then the caller's ``before_data`` hook persists ``sending``, then DATA.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fluenzr.core.endpoints import Endpoint
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError
from fluenzr.mail import smtp
from fluenzr.mail.reply_codes import Stage
from fluenzr.mail.smtp_results import RecipientResult, SmtpError
from fluenzr.sending.failure_policy import Failure, Kind

# Where a refusal fails the whole transaction (a RCPT refusal is per recipient).
_WHOLE_TRANSACTION = frozenset({Stage.MAIL, Stage.DATA, Stage.MESSAGE})
_TLS = frozenset(
    {
        ErrorCode.CERTIFICATE_INVALID,
        ErrorCode.TLS_FAILED,
        ErrorCode.TLS_MODE_MISMATCH,
        ErrorCode.STARTTLS_UNAVAILABLE,
    }
)
_CONNECTING = frozenset({Stage.GREETING, Stage.EHLO})  # before TLS and AUTH
_UNREACHABLE = frozenset(
    {ErrorCode.CONNECTION_REFUSED, ErrorCode.DNS_NOT_FOUND, ErrorCode.HOST_UNREACHABLE}
)


class SmtpFailure(Exception):
    def __init__(self, failure: Failure) -> None:
        self.failure = failure
        super().__init__(failure.detail)


@dataclass(frozen=True)
class RecipientOutcome:
    email: str
    failure: Failure | None  # None: accepted


def failure_of(error: MailError, *, sending: bool = False) -> Failure:
    """A transport error as the policy's value. ``sending``: errors raised while sending a
    message (a connection found dead at MAIL) count from MAIL, not from the greeting."""
    # The SMTP transport raises SmtpError only; any other MailError counts as connecting.
    stage = error.stage if isinstance(error, SmtpError) else Stage.GREETING
    if sending and stage.opens_session:
        stage = Stage.MAIL
    if isinstance(error, SmtpError) and error.reply is not None:
        return Failure(stage=stage, kind=Kind.REPLY, reply=error.reply)
    note = (error.detail or error.code)[:300]
    if error.code is ErrorCode.TIMEOUT:
        return Failure(stage=stage, kind=Kind.TIMEOUT, note=note)
    if error.code in _TLS:
        # A TLS failure counts as the TLS step's (the account's settings or the server's
        # certificate), wherever in the dialogue it showed.
        return Failure(stage=Stage.STARTTLS, kind=Kind.TLS, note=note)
    if error.code in _UNREACHABLE and stage in _CONNECTING:
        return Failure(stage=stage, kind=Kind.REFUSED, note=note)
    return Failure(stage=stage, kind=Kind.DISCONNECTED, note=note)


def _recipient(result: RecipientResult) -> RecipientOutcome:
    if result.accepted:
        return RecipientOutcome(result.recipient, None)
    failure = Failure(stage=result.reply.stage, kind=Kind.REPLY, reply=result.reply)
    return RecipientOutcome(result.recipient, failure)


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
            raise SmtpFailure(failure_of(exc)) from exc
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
            raise SmtpFailure(failure_of(exc, sending=True)) from exc
        self.last_used = time.monotonic()
        if result.stage in _WHOLE_TRANSACTION and not result.reply.accepted:
            raise SmtpFailure(Failure(stage=result.stage, kind=Kind.REPLY, reply=result.reply))
        return [_recipient(r) for r in result.recipients]

    async def close(self) -> None:
        await self._transport.quit()
