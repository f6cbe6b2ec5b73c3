"""One SMTP connection of the worker, reused for an account's consecutive messages.

It runs on the shared transport :class:`fluenzr.mail.smtp.SmtpSession` (which alone translates
the SMTP library's exceptions into :class:`MailError`); this adapter only turns the transport's
errors and per-recipient results into the sending policy's values
(:class:`~fluenzr.sending.outcomes.Failure`). A transaction is split where exactly-once needs
it: MAIL and RCPT first (nothing can be delivered yet), then the caller's ``before_data`` hook
persists ``sending``, then DATA.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fluenzr.core.endpoints import Endpoint
from fluenzr.diagnose.classify import Stage as Step
from fluenzr.errors import MailError
from fluenzr.mail import smtp
from fluenzr.mail.smtp_results import RecipientResult as Reply
from fluenzr.sending.outcomes import Failure, Kind, Stage

# The transport's dialogue steps → the sending policy's stages (DATA and the final dot are one).
_STAGES: dict[str, Stage] = {
    Step.GREETING: Stage.CONNECT,
    Step.EHLO: Stage.CONNECT,
    Step.STARTTLS: Stage.TLS,
    Step.AUTH: Stage.AUTH,
    Step.MAIL: Stage.MAIL,
    Step.RCPT: Stage.RCPT,
    Step.DATA: Stage.DATA,
    Step.MESSAGE: Stage.DATA,
}
_TLS = frozenset({"certificate_invalid", "tls_failed", "tls_mode_mismatch", "starttls_unavailable"})
_UNREACHABLE = frozenset({"connection_refused", "dns_not_found", "host_unreachable"})


class SmtpFailure(Exception):
    def __init__(self, failure: Failure) -> None:
        self.failure = failure
        super().__init__(failure.detail)


@dataclass(frozen=True)
class RecipientResult:
    email: str
    failure: Failure | None  # None: accepted


def _reply_failure(stage: Stage, code: int, enhanced: str | None, text: str) -> Failure:
    text = " ".join(text.split())
    if text[:3] == str(code):
        text = text[3:].lstrip(" -")
    if enhanced and text.startswith(enhanced):
        text = text[len(enhanced) :].lstrip()
    return Failure(stage=stage, kind=Kind.REPLY, code=code, enhanced=enhanced, text=text[:500])


def failure_of(error: MailError, *, at_least: Stage = Stage.CONNECT) -> Failure:
    """A transport error as the policy's value. ``at_least``: errors raised while sending a
    message (a connection found dead at MAIL) count from that stage, not the greeting's."""
    stage = _STAGES.get(str(error.params.get("stage", "")), Stage.CONNECT)
    if at_least is Stage.MAIL and stage in (Stage.CONNECT, Stage.TLS, Stage.AUTH):
        stage = Stage.MAIL
    if error.reply_code is not None:
        return _reply_failure(stage, error.reply_code, error.enhanced_code, error.detail or "")
    text = (error.detail or error.code)[:300]
    if error.code == "timeout":
        return Failure(stage=stage, kind=Kind.TIMEOUT, text=text)
    if error.code in _TLS:
        return Failure(stage=Stage.TLS, kind=Kind.TLS, text=text)
    if error.code in _UNREACHABLE and stage is Stage.CONNECT:
        return Failure(stage=stage, kind=Kind.REFUSED, text=text)
    return Failure(stage=stage, kind=Kind.DISCONNECTED, text=text)


def _recipient(reply: Reply) -> RecipientResult:
    if reply.accepted:
        return RecipientResult(reply.recipient, None)
    failure = _reply_failure(Stage.RCPT, reply.reply_code, reply.enhanced_code, reply.text)
    return RecipientResult(reply.recipient, failure)


def _temporary(results: Sequence[Reply]) -> bool:
    return any(not r.accepted and r.reply_code < 500 for r in results)


class SmtpSession:
    """A logged-in connection. ``send`` runs one transaction; ``close`` says QUIT."""

    def __init__(self, transport: smtp.SmtpSession) -> None:
        self._transport = transport
        self.last_used = time.monotonic()

    @property
    def alive(self) -> bool:
        return self._transport.connected

    @classmethod
    async def open(cls, endpoint: Endpoint, *, timeout: float) -> SmtpSession:  # noqa: ASYNC109
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
    ) -> list[RecipientResult]:
        """MAIL, RCPT each, then ``await before_data()`` (persist ``sending``), then DATA.

        Returns per-recipient results; DATA runs only when every refusal is permanent and one
        recipient at least was accepted (else RSET: a temporary refusal retries them all).
        Raises SmtpFailure for a failure of the whole transaction (nothing was delivered
        unless the stage is DATA)."""
        self.last_used = time.monotonic()

        async def go_on(results: tuple[Reply, ...]) -> bool:
            if _temporary(results):
                return False
            return await before_data()  # False: not ours any more, RSET instead of DATA

        try:
            result = await self._transport.send(
                message, sender=sender, recipients=recipients, before_data=go_on
            )
        except MailError as exc:
            raise SmtpFailure(failure_of(exc, at_least=Stage.MAIL)) from None
        self.last_used = time.monotonic()
        if result.stage in (Step.MAIL, Step.DATA, Step.MESSAGE) and not result.reply.accepted:
            reply = result.reply
            stage = _STAGES[result.stage]
            failure = _reply_failure(stage, reply.reply_code, reply.enhanced_code, reply.text)
            raise SmtpFailure(failure)
        return [_recipient(r) for r in result.recipients]

    async def close(self) -> None:
        await self._transport.quit()
