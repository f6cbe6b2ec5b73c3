"""SMTP transport over aiosmtplib: connect, secure, log in, send raw messages, quit.

    async with await connect_smtp(endpoint, timeout=settings.smtp_timeout) as smtp:
        result = await smtp.send(raw, sender="ana@example.com", recipients=["bob@example.org"])
        for rcpt in result.recipients: ...          # accepted, or a taxonomy code + reply

Security rules, enforced here whatever the caller asks:

- ``ssl``: implicit TLS from the first byte. ``starttls``: STARTTLS is mandatory; if the server
  does not offer it the session stops with ``starttls_unavailable`` (never AUTH in clear).
  ``none``: only to a loopback host (``cleartext_not_allowed`` otherwise).
- Certificates are verified (system store + the account's CA file) unless pinned; a pin is
  checked right after the handshake, before EHLO-after-TLS and AUTH.

Failures of the connection (DNS, TCP, TLS, timeouts, disconnects) and refused steps (AUTH…)
raise :class:`SmtpError` (a :class:`MailError`) with a taxonomy code, the :class:`Stage` and, when
the server answered, its :class:`ClassifiedReply`. The server's answers to MAIL/RCPT/DATA are
*values* (:class:`SendResult`), one per recipient, so the sending engine decides. A timeout or
disconnect while the message is being transferred raises with ``stage is Stage.MESSAGE``: the
outcome is then unknown. Every reply is classified once, here (:func:`classify_reply`).
This module is the only place aiosmtplib, ssl and socket exceptions are translated.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import aiosmtplib

from fluenzr.core.egress import EgressPolicy
from fluenzr.core.endpoints import Endpoint, Security, is_loopback
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError
from fluenzr.mail import egress, sasl, tls
from fluenzr.mail._network import classify_network_error, root_cause
from fluenzr.mail.reply_codes import Stage, classify_reply, oauth_failure_code
from fluenzr.mail.smtp_results import (
    BeforeData,
    Capabilities,
    RecipientResult,
    SendResult,
    SmtpError,
)

DEFAULT_TIMEOUT = 10.0
# A STARTTLS/plain server greets within moments; silence past this suggests an implicit-TLS port,
# which we then check with a TLS probe instead of waiting for the whole timeout.
GREETING_PATIENCE = 1.5
MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")  # in order of preference; TLS protects PLAIN/LOGIN


class SmtpSession:
    """One SMTP connection. Steps are separate so Probar can time each one."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        local_hostname: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._local_hostname = local_hostname or _default_local_hostname()
        self._client: aiosmtplib.SMTP | None = None
        self.capabilities = Capabilities({}, ())
        self.greeting = ""
        self.certificate: tls.LeafCertificate | None = None
        self.mechanism: str | None = None

    # -- steps ---------------------------------------------------------------------------

    async def open(self) -> str:
        """TCP connect (+ TLS for ``ssl``) and read the greeting. Returns the greeting text."""
        ep = self.endpoint
        if ep.security is Security.NONE and not is_loopback(ep.host):
            raise self._error(ErrorCode.CLEARTEXT_NOT_ALLOWED, Stage.GREETING)
        implicit = ep.security is Security.SSL
        try:
            sock = await self._socket(self.timeout)
        except Exception as exc:
            raise await self._translate(exc, Stage.GREETING) from exc
        # A connected socket checked by the egress policy; the name is only used for TLS (SNI).
        self._client = aiosmtplib.SMTP(
            hostname=ep.host,
            sock=sock,
            use_tls=implicit,
            start_tls=False,
            tls_context=tls.client_context(ep.tls) if implicit else None,
            timeout=self.timeout,
            local_hostname=self._local_hostname,
        )
        try:
            response = await self._connect_watching_for_tls(self._client, implicit=implicit)
            if implicit:
                self._after_handshake()
        except MailError:
            await self.aclose()
            raise
        except Exception as exc:
            await self.aclose()
            raise await self._translate(exc, Stage.GREETING) from exc
        self.greeting = response.message
        return self.greeting

    async def hello(self) -> Capabilities:
        """EHLO; with ``starttls``: STARTTLS (mandatory), pin check, EHLO again."""
        client = self._require()
        async with self._guard(Stage.EHLO):
            await client.ehlo()
        if self.endpoint.security is Security.STARTTLS:
            await self._starttls(client)
        self.capabilities = Capabilities(
            dict(client.esmtp_extensions),
            tuple(m.upper() for m in getattr(client, "server_auth_methods", [])),
        )
        return self.capabilities

    async def login(self, *, mechanism: str | None = None) -> str:
        """AUTH with the best mechanism both sides support (or ``mechanism`` if offered).

        Returns the mechanism used. One attempt only: retrying other mechanisms after a refusal
        would only count more failures against the account.

        Mail is never sent unauthenticated by accident: AUTH is skipped (``"none"``) only when
        the account explicitly says so (``Endpoint.authenticate`` false) and the egress policy
        is single-user; otherwise a server offering no AUTH is refused here, before MAIL FROM."""
        client = self._require()
        if not self.endpoint.authenticate:
            if self.endpoint.egress is not EgressPolicy.SINGLE_USER:
                raise self._error(ErrorCode.NO_AUTH_NOT_ALLOWED, Stage.AUTH)
            self.mechanism = "none"
            return "none"
        if not self.secure and not (
            self.endpoint.security is Security.NONE and is_loopback(self.endpoint.host)
        ):
            raise self._error(
                ErrorCode.STARTTLS_UNAVAILABLE, Stage.AUTH
            )  # never a password in clear
        offered = self.capabilities.auth_mechanisms
        if self.endpoint.oauth:
            return await self._login_oauth(client, self.endpoint.oauth, offered)
        wanted = [mechanism.upper()] if mechanism else list(MECHANISMS)
        usable = [m for m in wanted if m in offered and m in MECHANISMS]
        if not usable:
            raise self._error(
                ErrorCode.AUTH_MECHANISM_UNSUPPORTED,
                Stage.AUTH,
                mechanisms=", ".join(offered) or "—",
            )
        chosen = usable[0]
        method = getattr(client, "auth_" + chosen.lower().replace("-", ""))
        async with self._guard(Stage.AUTH):
            await method(self.endpoint.username, self.endpoint.password.reveal())
        self.mechanism = chosen
        return chosen

    async def _login_oauth(
        self, client: aiosmtplib.SMTP, chosen: str, offered: tuple[str, ...]
    ) -> str:
        """AUTH XOAUTH2 / OAUTHBEARER with the access token as initial response (RFC 4954).

        A refusal arrives as a 334 error challenge (base64 JSON): answer it as the mechanism
        requires, read the final reply, and report the status and scope the server named."""
        if chosen not in offered:
            raise self._error(
                ErrorCode.AUTH_MECHANISM_UNSUPPORTED,
                Stage.AUTH,
                mechanisms=", ".join(offered) or "—",
            )
        ep = self.endpoint
        initial = sasl.initial_response(
            chosen, user=ep.username, token=ep.password.reveal(), host=ep.host, port=ep.port
        )
        self.mechanism = chosen
        challenge = sasl.OAuthChallenge()
        async with self._guard(Stage.AUTH):
            response = await client.execute_command(b"AUTH", chosen.encode(), initial)
            if response.code == 334:
                challenge = sasl.parse_challenge(response.message)
                response = await client.execute_command(sasl.failure_reply(chosen))
        if response.code != 235:
            raise self._reply_error(
                Stage.AUTH,
                response.code,
                response.message,
                oauth=True,
                oauth_status=challenge.status,
                oauth_scope=challenge.scope,
            )
        return chosen

    async def send(
        self,
        message: bytes,
        *,
        sender: str,
        recipients: Sequence[str],
        before_data: BeforeData | None = None,
    ) -> SendResult:
        """One transaction: MAIL, RCPT for each recipient, DATA. Reply failures are values.

        ``before_data`` (exactly-once bookkeeping) runs after RCPT, before DATA, with the RCPT
        results; nothing can have been delivered yet. If it returns False the transaction is
        abandoned (RSET) and the result ends at the RCPT stage."""
        client = self._require()
        if not recipients:
            raise ValueError("at least one recipient is needed")
        failed = await self._mail(client, sender, message, recipients)
        if failed:
            return failed
        results: list[RecipientResult] = []
        for recipient in recipients:
            results.append(await self._rcpt(client, recipient))
        go_on = any(r.accepted for r in results)
        if go_on and before_data is not None:
            go_on = await before_data(tuple(results))
        if not go_on:
            await self._reset(client)
            last = next((r for r in reversed(results) if not r.accepted), results[-1])
            return SendResult(tuple(results), last.reply)
        return await self._data(client, message, results)

    async def quit(self) -> None:
        """QUIT politely (bounded), then close. Never raises."""
        client = self._client
        if client is not None and client.is_connected:
            # The session is over either way: a failing QUIT changes nothing.
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                # QUIT by hand: aiosmtplib.quit() would close TLS gracefully, see close().
                await client.execute_command(b"QUIT", timeout=min(self.timeout, 5.0))
        await self.aclose()

    def close(self) -> None:
        client = self._client
        if client is None:
            return
        transport = client.transport
        if isinstance(transport, asyncio.Transport) and not transport.is_closing():
            # abort(), not close(): a TLS close waits for the server's close_notify (up to 30 s)
            # with the socket still open; the SMTP dialogue is over by now either way.
            transport.abort()
        client.close()

    async def aclose(self) -> None:
        """Close, then yield once so the transport really releases its socket."""
        self.close()
        await asyncio.sleep(0)

    @property
    def connected(self) -> bool:
        """Whether the connection is still open (a pooled session may be reused)."""
        client = self._client
        return bool(client and client.is_connected)

    @property
    def secure(self) -> bool:
        client = self._client
        return bool(client and client.get_transport_info("sslcontext") is not None)

    @property
    def tls_version(self) -> str | None:
        client = self._client
        ssl_object = client.get_transport_info("ssl_object") if client else None
        return ssl_object.version() if ssl_object else None

    async def __aenter__(self) -> SmtpSession:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.quit()

    # -- internals -------------------------------------------------------------------------

    async def _connect_watching_for_tls(
        self, client: aiosmtplib.SMTP, *, implicit: bool
    ) -> aiosmtplib.SMTPResponse:
        connecting = asyncio.ensure_future(client.connect())
        if implicit:
            return await connecting
        done, _ = await asyncio.wait({connecting}, timeout=min(GREETING_PATIENCE, self.timeout))
        if not done and await self._speaks_implicit_tls():
            connecting.cancel()
            await asyncio.gather(connecting, return_exceptions=True)
            raise self._error(
                ErrorCode.TLS_MODE_MISMATCH, Stage.GREETING, suggested=Security.SSL.label
            )
        return await connecting

    async def _socket(self, timeout: float) -> socket.socket:  # noqa: ASYNC109
        ep = self.endpoint
        return await egress.open_socket(
            ep.host, ep.port, policy=ep.egress, purpose="mail", timeout=timeout
        )

    async def _speaks_implicit_tls(self) -> bool:
        try:
            await tls.fetch_leaf_certificate(
                self.endpoint.host,
                self.endpoint.port,
                timeout=min(2.0, self.timeout),
                egress_policy=self.endpoint.egress,
            )
        except (OSError, TimeoutError, ValueError):
            return False
        return True

    async def _starttls(self, client: aiosmtplib.SMTP) -> None:
        if not client.supports_extension("starttls"):
            raise self._error(ErrorCode.STARTTLS_UNAVAILABLE, Stage.STARTTLS)
        try:
            await client.starttls(tls_context=tls.client_context(self.endpoint.tls))
            self._after_handshake()
        except aiosmtplib.SMTPResponseException as exc:
            raise self._error(
                ErrorCode.STARTTLS_UNAVAILABLE, Stage.STARTTLS, detail=f"{exc.code} {exc.message}"
            ) from exc
        except MailError:
            raise
        except Exception as exc:
            raise await self._translate(exc, Stage.STARTTLS) from exc
        async with self._guard(Stage.EHLO):
            await client.ehlo()

    def _after_handshake(self) -> None:
        ssl_object = self._require().get_transport_info("ssl_object")
        der = tls.peer_der(ssl_object)
        self.certificate = tls.describe(der) if der else None
        try:
            tls.check_pin(self.endpoint.tls, ssl_object)
        except tls.PinMismatch as exc:
            self.close()
            raise self._error(
                ErrorCode.CERTIFICATE_INVALID,
                Stage.STARTTLS,
                variant="pin_mismatch",
                reason="pin_mismatch",
                fingerprint=exc.fingerprint,
                **tls.certificate_facts(self.certificate),
            ) from exc

    async def _mail(
        self, client: aiosmtplib.SMTP, sender: str, message: bytes, recipients: Sequence[str]
    ) -> SendResult | None:
        options = self._mail_options(message, sender, recipients)
        async with self._guard(Stage.MAIL):
            response = await client.execute_command(
                b"MAIL", b"FROM:" + _address(sender), *[o.encode() for o in options]
            )
        if response.code == 250:
            return None
        reply = classify_reply(Stage.MAIL, response.code, response.message)
        await self._reset(client)
        return SendResult(tuple(RecipientResult(r, reply) for r in recipients), reply)

    async def _rcpt(self, client: aiosmtplib.SMTP, recipient: str) -> RecipientResult:
        async with self._guard(Stage.RCPT):
            response = await client.execute_command(b"RCPT", b"TO:" + _address(recipient))
        return RecipientResult(
            recipient, classify_reply(Stage.RCPT, response.code, response.message)
        )

    async def _data(
        self, client: aiosmtplib.SMTP, message: bytes, results: list[RecipientResult]
    ) -> SendResult:
        async with self._guard(Stage.MESSAGE):
            try:
                response = await client.data(message)
            except aiosmtplib.SMTPDataError as exc:
                response = aiosmtplib.SMTPResponse(exc.code, exc.message)
        reply = classify_reply(Stage.MESSAGE, response.code, response.message)
        if not reply.accepted:
            await self._reset(client)
        final = tuple(RecipientResult(r.recipient, reply) if r.accepted else r for r in results)
        return SendResult(final, reply)

    async def _reset(self, client: aiosmtplib.SMTP) -> None:
        # RSET keeps the connection usable for the next message after a refused transaction.
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            await self.aclose()

    def _mail_options(self, message: bytes, sender: str, recipients: Sequence[str]) -> list[str]:
        ext = self._require().esmtp_extensions
        options = []
        if "size" in ext:
            options.append(f"SIZE={len(message)}")
        if "8bitmime" in ext and not message.isascii():  # C speed: this runs per message
            options.append("BODY=8BITMIME")
        if "smtputf8" in ext and not all(a.isascii() for a in (sender, *recipients)):
            options.append("SMTPUTF8")
        return options

    def _require(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            raise self._error(ErrorCode.SERVER_DISCONNECTED, Stage.EHLO)
        return self._client

    def _guard(self, stage: Stage) -> _Guard:
        return _Guard(self, stage)

    def _error(
        self,
        code: ErrorCode,
        stage: Stage,
        *,
        detail: str | None = None,
        variant: str | None = None,
        **params: Any,
    ) -> SmtpError:
        ep = self.endpoint
        base: dict[str, Any] = {"host": ep.host, "port": ep.port, "username": ep.username}
        return SmtpError(
            code, stage=stage, params={**base, **params}, detail=detail, variant=variant
        )

    async def _translate(self, exc: BaseException, stage: Stage) -> SmtpError:
        """The one place aiosmtplib/ssl/socket exceptions become MailError."""
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return self._reply_error(stage, exc.code, exc.message)
        cause = root_cause(exc)
        code = classify_network_error(cause)
        if code is None and isinstance(exc, aiosmtplib.SMTPTimeoutError):
            code = ErrorCode.TIMEOUT
        code = code or ErrorCode.SERVER_DISCONNECTED
        if code is ErrorCode.CERTIFICATE_INVALID:
            return await self._certificate_error(cause, stage)
        if code is ErrorCode.TLS_MODE_MISMATCH:
            other = Security.STARTTLS if self.endpoint.security is Security.SSL else Security.SSL
            return self._error(code, stage, detail=str(cause), suggested=other.label)
        return self._error(code, stage, detail=_describe(exc, cause))

    def _reply_error(
        self,
        stage: Stage,
        reply_code: int,
        text: str,
        *,
        oauth: bool = False,
        oauth_status: str = "",
        oauth_scope: str = "",
    ) -> SmtpError:
        reply = classify_reply(stage, reply_code, text)
        # A 2xx/3xx where the library expected another is an unexpected reply.
        code = reply.error or ErrorCode.UNEXPECTED_REPLY
        reply = dataclasses.replace(reply, code=code)
        params: dict[str, Any] = {"host": self.endpoint.host, "port": self.endpoint.port}
        params.update(username=self.endpoint.username, mechanisms=self.mechanism)
        if reply.retry_after is not None:
            params["retry_after"] = reply.retry_after
        if oauth:
            params.update(oauth_status=oauth_status, oauth_scope=oauth_scope)
            code = oauth_failure_code(code, oauth_status)
            reply = dataclasses.replace(reply, code=code)
        return SmtpError(
            code,
            stage=stage,
            reply=reply,
            params=params,
            detail=f"{reply_code} {text}".strip(),
        )

    async def _certificate_error(self, cause: BaseException, stage: Stage) -> SmtpError:
        reason = tls.verification_reason(cause)
        leaf = await self._inspect_certificate()
        return self._error(
            ErrorCode.CERTIFICATE_INVALID,
            stage,
            detail=str(cause),
            variant=reason,
            reason=reason,
            fingerprint=leaf.fingerprint if leaf else "",
            **tls.certificate_facts(leaf),
        )

    async def _inspect_certificate(self) -> tls.LeafCertificate | None:
        """Reconnect without verification only to read the certificate (never logs in)."""
        ep = self.endpoint
        budget = min(self.timeout, 5.0)
        try:
            if ep.security is Security.SSL:
                return await tls.fetch_leaf_certificate(
                    ep.host, ep.port, timeout=budget, egress_policy=ep.egress
                )
            probe = aiosmtplib.SMTP(
                hostname=ep.host,
                sock=await self._socket(budget),
                start_tls=False,
                timeout=budget,
                local_hostname=self._local_hostname,
            )
            async with asyncio.timeout(budget * 2):
                await probe.connect()
                try:
                    await probe.starttls(tls_context=tls.inspection_context())
                    der = tls.peer_der(probe.get_transport_info("ssl_object"))
                finally:
                    probe.close()
                    await asyncio.sleep(0)  # let the transport release its socket
            return tls.describe(der) if der else None
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError):
            return None


class _Guard:
    """``async with session._guard(stage):`` translates whatever the block raises."""

    def __init__(self, session: SmtpSession, stage: Stage) -> None:
        self.session = session
        self.stage = stage

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc is None or isinstance(exc, MailError) or not isinstance(exc, Exception):
            return False
        if isinstance(exc, ValueError | TypeError) and not isinstance(exc, OSError):
            return False  # a programming error, not the network's
        await self.session.aclose()
        raise await self.session._translate(exc, self.stage) from exc


def _address(address: str) -> bytes:
    if any(c in address for c in "\r\n<>"):
        raise ValueError("an address may not contain CR, LF, '<' or '>'")
    return b"<" + address.encode("utf-8") + b">"


def _describe(exc: BaseException, cause: BaseException) -> str:
    text = str(cause) or str(exc) or type(cause).__name__
    return text[:300]


def _default_local_hostname() -> str:
    # socket.getfqdn() may query DNS (slow, and not on loopback); the plain host name does not.
    name = socket.gethostname().strip()
    return name if name and name.isascii() and " " not in name else "localhost"


async def connect_smtp(
    endpoint: Endpoint,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - per step (connect, each reply)
    login: bool = True,
    local_hostname: str | None = None,
) -> SmtpSession:
    """Open, secure, EHLO and (by default) log in; a ready session or a MailError."""
    session = SmtpSession(endpoint, timeout=timeout, local_hostname=local_hostname)
    await session.open()
    try:
        await session.hello()
        if login:
            await session.login()
    except BaseException:
        await session.aclose()
        raise
    return session


__all__ = [
    "DEFAULT_TIMEOUT",
    "MECHANISMS",
    "BeforeData",
    "Capabilities",
    "RecipientResult",
    "SendResult",
    "SmtpError",
    "SmtpSession",
    "connect_smtp",
]
