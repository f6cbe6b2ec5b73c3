"""One SMTP connection of the worker, reused for an account's consecutive messages.

A transaction is split where exactly-once needs it: MAIL and RCPT first (nothing can be
delivered yet), then the caller's ``before_data`` hook persists ``sending``, then DATA. Every
aiosmtplib exception is translated here, once, into a :class:`~fluenzr.sending.outcomes.Failure`.
"""

from __future__ import annotations

import hashlib
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiosmtplib

from fluenzr.core.endpoints import Endpoint, Security, is_loopback
from fluenzr.sending.outcomes import Failure, Kind, Stage

_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\s*")


class SmtpFailure(Exception):
    def __init__(self, failure: Failure) -> None:
        self.failure = failure
        super().__init__(failure.detail)


@dataclass(frozen=True)
class RecipientResult:
    email: str
    failure: Failure | None  # None: accepted


def _reply_failure(stage: Stage, code: int, message: str) -> Failure:
    text = " ".join(message.split())
    match = _ENHANCED.match(text)
    enhanced = match.group(1) if match else None
    if match:
        text = text[match.end() :]
    return Failure(stage=stage, kind=Kind.REPLY, code=code, enhanced=enhanced, text=text[:500])


def translate(exc: BaseException, stage: Stage) -> Failure:
    """The one place aiosmtplib's exceptions become values."""
    if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 400:
        return _reply_failure(stage, exc.code, exc.message)
    if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError):
        return Failure(stage=stage, kind=Kind.TIMEOUT, text="no answer in time")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return Failure(stage=Stage.TLS, kind=Kind.TLS, text=str(exc)[:300])
    if isinstance(exc, aiosmtplib.SMTPConnectError) and stage is Stage.CONNECT:
        return Failure(stage=stage, kind=Kind.REFUSED, text=str(exc)[:300])
    return Failure(stage=stage, kind=Kind.DISCONNECTED, text=str(exc)[:300] or type(exc).__name__)


def tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    if endpoint.tls.pin_sha256:
        # A pinned certificate replaces chain validation; the pin is checked after handshake.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=endpoint.tls.ca_file)


def _check_pin(client: aiosmtplib.SMTP, endpoint: Endpoint) -> None:
    if not endpoint.tls.pin_sha256:
        return
    transport = client.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    if not der or hashlib.sha256(der).hexdigest() != endpoint.tls.pin_sha256:
        raise SmtpFailure(Failure(Stage.TLS, Kind.TLS, text="certificate does not match the pin"))


class SmtpSession:
    """A logged-in connection. ``send`` runs one transaction; ``close`` says QUIT."""

    def __init__(self, client: aiosmtplib.SMTP, *, timeout: float) -> None:
        self._client = client
        self._timeout = timeout
        self.last_used = time.monotonic()
        self.sent = 0

    @property
    def alive(self) -> bool:
        return self._client.is_connected

    @classmethod
    async def open(cls, endpoint: Endpoint, *, timeout: float) -> SmtpSession:  # noqa: ASYNC109
        client = aiosmtplib.SMTP(
            hostname=endpoint.host,
            port=endpoint.port,
            timeout=timeout,
            use_tls=endpoint.security is Security.SSL,
            start_tls=endpoint.security is Security.STARTTLS,
            tls_context=tls_context(endpoint) if endpoint.security is not Security.NONE else None,
        )
        stage = Stage.CONNECT
        try:
            await client.connect()
            _check_pin(client, endpoint)
            stage = Stage.AUTH
            await cls._login(client, endpoint)
        except SmtpFailure:
            client.close()
            raise
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            client.close()
            raise SmtpFailure(translate(exc, stage)) from None
        return cls(client, timeout=timeout)

    @staticmethod
    async def _login(client: aiosmtplib.SMTP, endpoint: Endpoint) -> None:
        if not endpoint.password:
            return
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        # Cleartext AUTH only to loopback (e.g. ProtonMail Bridge), and only if offered.
        cleartext = endpoint.security is Security.NONE
        if cleartext and (not is_loopback(endpoint.host) or not client.supports_extension("auth")):
            return
        await client.login(endpoint.username, endpoint.password.reveal())

    async def send(
        self,
        *,
        sender: str,
        recipients: Sequence[str],
        data: Callable[[], Awaitable[bytes]],
        smtputf8: bool = False,
    ) -> list[RecipientResult]:
        """MAIL, RCPT each, then ``await data()`` (persist ``sending``, build bytes), then DATA.

        Returns per-recipient results. Raises SmtpFailure for a failure of the whole
        transaction (nothing was delivered unless the stage is DATA).
        """
        self.last_used = time.monotonic()
        options = ["SMTPUTF8"] if smtputf8 else []
        encoding = "utf-8" if smtputf8 else "ascii"
        await self._step(Stage.MAIL, self._client.mail(sender, options=options, encoding=encoding))
        results = [await self._rcpt(r, encoding) for r in recipients]
        accepted = [r for r in results if r.failure is None]
        if not accepted or any(
            r.failure and r.failure.code and r.failure.code < 500 for r in results
        ):
            await self._reset()
            return results
        payload = await data()
        await self._step(Stage.DATA, self._client.data(payload))
        self.sent += 1
        self.last_used = time.monotonic()
        return results

    async def _rcpt(self, recipient: str, encoding: str) -> RecipientResult:
        try:
            await self._client.rcpt(recipient, encoding=encoding)
        except aiosmtplib.SMTPRecipientRefused as exc:
            return RecipientResult(recipient, _reply_failure(Stage.RCPT, exc.code, exc.message))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise SmtpFailure(translate(exc, Stage.RCPT)) from None
        return RecipientResult(recipient, None)

    async def _step(self, stage: Stage, call: Awaitable[object]) -> None:
        try:
            await call
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            failure = translate(exc, stage)
            if failure.kind is Kind.REPLY and failure.code is not None and failure.code != 421:
                await self._reset()
            raise SmtpFailure(failure) from None

    async def _reset(self) -> None:
        try:
            await self._client.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            self._client.close()

    async def close(self) -> None:
        try:
            if self._client.is_connected:
                await self._client.quit(timeout=min(self._timeout, 5.0))
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            pass
        finally:
            self._client.close()
