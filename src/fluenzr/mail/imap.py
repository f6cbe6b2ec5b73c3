"""IMAP transport over aioimaplib: connect, secure, log in, find, fetch, append, IDLE.

    async with await connect_imap(endpoint, timeout=settings.imap_timeout) as imap:
        await imap.select("INBOX")                         # read-only (EXAMINE) by default
        uids = await imap.search_message_id("<abc@example.com>")
        messages = await imap.fetch(uids)                  # BODY.PEEK[]: flags unchanged
        sent = await imap.find_sent_folder()               # \\Sent, else common names

Same security rules as SMTP: ``ssl`` implicit TLS; ``starttls`` mandatory (aioimaplib has no
STARTTLS, so the connection is upgraded with ``loop.start_tls`` on its own transport; without
STARTTLS → ``starttls_unavailable``, LOGIN is never sent in clear); ``none`` loopback only.
Certificates verified or pinned through :mod:`fluenzr.mail.tls`. Failures raise
:class:`MailError` with scope ``imap``: the codes shared with SMTP (``auth_failed``,
``timeout``…) and IMAP's own (``imap_command_failed``…); this module is the only place
aioimaplib exceptions are translated.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import aioimaplib

from fluenzr.core import linear_re
from fluenzr.core.endpoints import Endpoint, Security, is_loopback
from fluenzr.error_codes import ErrorCode, Scope
from fluenzr.errors import MailError, mail_error
from fluenzr.mail import egress, sasl, tls
from fluenzr.mail._imap_text import (
    SENT_FALLBACK_NAMES,
    decode_mailbox,
    parse_fetch_sized,
    parse_list,
    parse_search,
    quote,
)
from fluenzr.mail._network import classify_network_error, root_cause
from fluenzr.mail.connection_memory import (
    drop_decoded_peercert,
    share_tls_read_buffer,
    shared_capabilities,
)
from fluenzr.mail.imap_results import (
    FetchedMessage,
    Folder,
    FolderStatus,
    folder_status,
    response_text,
)

DEFAULT_TIMEOUT = 10.0
# A tenant's IMAP server is untrusted. aioimaplib buffers a line until its CRLF and a literal
# until its announced size, with no limit; these bound what one connection may make us hold.
MAX_RESPONSE_BYTES = 128 << 20  # one command's response (a FETCH of 50 bodies at body_limit)
MAX_LINE_BYTES = 8 << 20  # one line still without its CRLF (a SEARCH of 1M UIDs is ~7 MB)
_APPENDUID = linear_re.compile(rb"APPENDUID \d+ (\d+)")
GREETING_PATIENCE = 1.5  # see mail.smtp: silence this long suggests an implicit-TLS port
T = TypeVar("T")


class ImapSession:
    """One IMAP connection; steps are separate so Probar can time each one."""

    def __init__(self, endpoint: Endpoint, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._client: aioimaplib.IMAP4 | None = None
        self._lost = asyncio.Event()
        self.certificate: tls.LeafCertificate | None = None
        self.selected: FolderStatus | None = None
        self._idle: asyncio.Future[Any] | None = None
        self.greeting = ""
        self._inspecting = False  # a probe that only reads a failing server's certificate
        self._overflow = False  # the server sent more than MAX_RESPONSE_BYTES / MAX_LINE_BYTES
        self._oauth_mechanism: str | None = None  # during AUTHENTICATE
        self._oauth_challenge = sasl.OAuthChallenge()

    def _context(self) -> ssl.SSLContext:
        if self._inspecting:
            return tls.inspection_context()
        return tls.client_context(self.endpoint.tls)

    # -- connecting ------------------------------------------------------------------------

    async def open(self) -> frozenset[str]:
        """TCP (+ TLS for ``ssl``), greeting; returns the capabilities."""
        ep = self.endpoint
        if ep.security is Security.NONE and not is_loopback(ep.host):
            raise self._error(ErrorCode.CLEARTEXT_NOT_ALLOWED)
        implicit = ep.security is Security.SSL
        self._client = _CheckedIMAP4(
            ep,
            timeout=self.timeout,
            conn_lost_cb=lambda _exc: self._lost.set(),
            ssl_context=self._context() if implicit else None,
        )
        self._bound(self._client.protocol)
        try:
            await self._greeting(self._client, implicit=implicit)
            if implicit:
                self._after_handshake()
        except MailError:
            await self.aclose()
            raise
        except Exception as exc:
            await self.aclose()
            raise await self._translate(exc, "CONNECT") from exc
        return self.capabilities

    async def secure(self) -> None:
        """STARTTLS (mandatory for ``starttls``), pin check, fresh CAPABILITY."""
        if self.endpoint.security is not Security.STARTTLS:
            return
        client = self._require()
        if "STARTTLS" not in client.protocol.capabilities:
            raise self._error(ErrorCode.STARTTLS_UNAVAILABLE)
        protocol = client.protocol
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        response = await self._run(protocol.execute(command), "STARTTLS")
        if response.result != "OK":
            raise self._error(ErrorCode.STARTTLS_UNAVAILABLE, detail=response_text(response))
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                protocol.transport,
                protocol,
                self._context(),
                server_hostname=self.endpoint.host,
                ssl_handshake_timeout=self.timeout,
            )
        except Exception as exc:
            await self.aclose()
            raise await self._translate(exc, "STARTTLS") from exc
        protocol.transport = transport
        share_tls_read_buffer(transport)
        # RFC 3501 §6.2.1 / RFC 3207-style injection defence: forget any plaintext read before TLS.
        protocol.incomplete_line = b""
        self._after_handshake()
        await self._run(protocol.capability(), "CAPABILITY")

    async def login(self) -> None:
        client = self._require()
        if not self.secure_transport and not (
            self.endpoint.security is Security.NONE and is_loopback(self.endpoint.host)
        ):
            raise self._error(ErrorCode.STARTTLS_UNAVAILABLE)  # never a password in clear
        if "LOGINDISABLED" in client.protocol.capabilities:
            raise self._error(ErrorCode.STARTTLS_UNAVAILABLE, detail="LOGINDISABLED")
        ep = self.endpoint
        if ep.oauth:
            await self._login_oauth(client, ep.oauth)
            return
        user, password = ep.username, ep.password.reveal()
        if any(c in text for text in (user, password) for c in "\r\n\0"):
            raise self._error(
                ErrorCode.AUTH_FAILED, detail="line break in the user name or password"
            )
        # aioimaplib quotes the password but sends the user name as is: quote it (RFC 3501 §9).
        response = await self._run(client.login(aioimaplib.quoted(user), password), "LOGIN")
        if response.result != "OK":
            raise self._error(ErrorCode.AUTH_FAILED, detail=response_text(response))

    async def _login_oauth(self, client: aioimaplib.IMAP4, mechanism: str) -> None:
        """AUTHENTICATE XOAUTH2 / OAUTHBEARER with the token as SASL-IR (RFC 4959).

        A refusal is a ``+`` continuation with the server's base64 JSON: it is answered with the
        mechanism's failure reply (``_bound`` does that), then the tagged NO is reported with
        the status and scope the server named."""
        caps = self.capabilities
        if f"AUTH={mechanism}" not in caps or "SASL-IR" not in caps:
            offered = ", ".join(sorted(c[5:] for c in caps if c.startswith("AUTH="))) or "—"
            raise self._error(ErrorCode.AUTH_FAILED, detail=f"{mechanism} not offered ({offered})")
        ep = self.endpoint
        try:
            initial = sasl.initial_response(
                mechanism, user=ep.username, token=ep.password.reveal(), host=ep.host, port=ep.port
            ).decode("ascii")
        except ValueError:
            raise self._error(ErrorCode.AUTH_FAILED, detail="control characters") from None
        protocol = client.protocol
        self._oauth_mechanism, self._oauth_challenge = mechanism, sasl.OAuthChallenge()
        command = aioimaplib.Command(
            "AUTHENTICATE", protocol.new_tag(), mechanism, initial, loop=protocol.loop
        )
        try:
            response = await self._run(protocol.execute(command, scrub=initial), "AUTHENTICATE")
        finally:
            self._oauth_mechanism = None
        if response.result != "OK":
            challenge = self._oauth_challenge
            code = sasl_failure_code(challenge.status)
            raise self._error(
                code,
                detail=response_text(response),
                oauth_status=challenge.status,
                oauth_scope=challenge.scope,
            )
        protocol.state = "AUTH"

    def share_capabilities(self) -> None:
        """Hold the server's capabilities as the one shared copy (see connection_memory)."""
        client = self._client
        if client is not None:
            client.protocol.capabilities = shared_capabilities(client.protocol.capabilities)

    @property
    def capabilities(self) -> frozenset[str]:
        client = self._client
        return frozenset(client.protocol.capabilities) if client else frozenset()

    @property
    def secure_transport(self) -> bool:
        client = self._client
        transport = client.protocol.transport if client else None
        return bool(transport and transport.get_extra_info("ssl_object") is not None)

    # -- folders and messages ----------------------------------------------------------------

    async def list_folders(self) -> list[Folder]:
        client = self._require()
        args = ['""', '"*"']
        if {"SPECIAL-USE", "LIST-EXTENDED"} <= self.capabilities:
            args += ["RETURN", "(SPECIAL-USE)"]
        response = await self._checked(client.protocol.simple_command("LIST", *args), "LIST")
        return [
            Folder(decode_mailbox(raw), raw, flags, delimiter)
            for flags, delimiter, raw in parse_list(response.lines)
        ]

    async def find_sent_folder(self) -> Folder | None:
        """The folder flagged ``\\Sent`` (RFC 6154), else one with a usual name."""
        folders = await self.list_folders()
        for folder in folders:
            if "\\Sent" in folder.flags:
                return folder
        by_name = {folder.name.casefold(): folder for folder in folders}
        for name in SENT_FALLBACK_NAMES:
            if name.casefold() in by_name:
                return by_name[name.casefold()]
        return None

    async def select(
        self, folder: str | Folder = "INBOX", *, read_only: bool = True
    ) -> FolderStatus:
        """EXAMINE (read-only, the default) or SELECT a folder."""
        client = self._require()
        raw = folder.raw if isinstance(folder, Folder) else folder
        name = folder.name if isinstance(folder, Folder) else folder
        verb = "EXAMINE" if read_only else "SELECT"
        if read_only:
            call = client.protocol.simple_command("EXAMINE", quote(raw))
        else:
            call = client.protocol.select(quote(raw))
        response = await self._run(call, verb)
        if response.result != "OK":
            raise self._error(
                ErrorCode.IMAP_FOLDER_NOT_FOUND, detail=response_text(response), folder=name
            )
        client.protocol.state = "SELECTED"  # aioimaplib only tracks SELECT, not EXAMINE
        self.selected = folder_status(name, response.lines, read_only=read_only)
        return self.selected

    async def uid_search(self, *criteria: str) -> list[int]:
        client = self._require()
        call = client.protocol.search(*criteria, by_uid=True, charset=None)
        return parse_search((await self._checked(call, "UID SEARCH")).lines)

    async def search_message_id(self, message_id: str) -> list[int]:
        """UIDs of messages whose Message-ID header contains ``message_id``."""
        if any(c in message_id for c in '\r\n"\\'):
            raise ValueError("a Message-ID may not contain CR, LF, quotes or backslashes")
        return await self.uid_search("HEADER", "Message-ID", f'"{message_id}"')

    async def fetch(
        self, uids: Sequence[int], *, section: str = "BODY.PEEK[]"
    ) -> list[FetchedMessage]:
        """UID FETCH with a PEEK section: reading never sets ``\\Seen``."""
        if not uids:
            return []
        if "PEEK" not in section.upper() and "BODY[" in section.upper():
            raise ValueError("use BODY.PEEK[...] so reading does not mark messages \\Seen")
        client = self._require()
        call = client.protocol.fetch(
            ",".join(str(u) for u in uids),
            f"(UID FLAGS {section})",
            by_uid=True,
            timeout=self.timeout,
        )
        response = await self._checked(call, "UID FETCH")
        return [
            FetchedMessage(uid, flags, data, size)
            for uid, flags, data, size in parse_fetch_sized(response.lines)
        ]

    async def append(
        self,
        message: bytes,
        *,
        folder: str | Folder,
        flags: Sequence[str] = ("\\Seen",),
        date: datetime | None = None,
    ) -> int | None:
        """APPEND (e.g. a copy to Sent, marked \\Seen). Returns the new UID when UIDPLUS says."""
        client = self._require()
        raw = folder.raw if isinstance(folder, Folder) else folder
        call = client.protocol.append(
            message,
            quote(raw),
            "(" + " ".join(flags) + ")" if flags else None,
            date,
            timeout=self.timeout,
        )
        response = await self._checked(call, "APPEND")
        match = _APPENDUID.search(b" ".join(bytes(x) for x in response.lines))
        return int(match.group(1)) if match else None

    # -- IDLE ------------------------------------------------------------------------------

    async def idle_start(self) -> None:
        """Enter IDLE on the selected folder (the server must say IDLE)."""
        client = self._require()
        if "IDLE" not in self.capabilities:
            raise self._error(
                ErrorCode.IMAP_COMMAND_FAILED, detail="no IDLE capability", command="IDLE"
            )
        self._idle = await self._run(client.idle_start(timeout=29 * 60), "IDLE")

    async def idle_wait(self, *, timeout: float) -> list[bytes]:  # noqa: ASYNC109 - a wait window
        """Lines the server pushed during IDLE (``[b"3 EXISTS"]``…), or [] after ``timeout``."""
        client = self._require()
        try:
            pushed = await client.wait_server_push(timeout=timeout)
        except TimeoutError:
            return []
        if self._lost.is_set():
            raise self._error(ErrorCode.SERVER_DISCONNECTED)
        if not isinstance(pushed, list):
            return []
        return [bytes(line) for line in pushed]

    async def idle_stop(self) -> None:
        """DONE, and wait for the server to end IDLE."""
        client = self._require()
        client.idle_done()
        if self._idle is not None:
            await self._run(asyncio.wait_for(self._idle, self.timeout), "IDLE")
            self._idle = None

    # -- ending ------------------------------------------------------------------------------

    async def logout(self) -> None:
        """LOGOUT (bounded), then close. Never raises."""
        client = self._client
        if client is not None and not self._lost.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), min(self.timeout, 5.0))
        await self.aclose()

    def close(self) -> None:
        client = self._client
        transport = client.protocol.transport if client else None
        if transport is not None and not transport.is_closing():
            # abort(), not close(): a TLS close waits for the server's close_notify with the
            # socket still open; the IMAP dialogue is over by now either way.
            transport.abort()

    async def aclose(self) -> None:
        """Close, then yield once so the transport really releases its socket."""
        self.close()
        await asyncio.sleep(0)

    async def __aenter__(self) -> ImapSession:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.logout()

    # -- internals ---------------------------------------------------------------------------

    async def _greeting(self, client: aioimaplib.IMAP4, *, implicit: bool) -> None:
        refused = self._watch_greeting(client.protocol)
        hello = asyncio.ensure_future(client.wait_hello_from_server())
        # A "* BYE" greeting or a hang-up ends the wait at once, not after the timeout.
        ended = asyncio.ensure_future(refused.wait())
        lost = asyncio.ensure_future(self._lost.wait())
        waiting = {hello, ended, lost}
        try:
            if not implicit:
                patience = min(GREETING_PATIENCE, self.timeout)
                done, _ = await asyncio.wait(
                    waiting, timeout=patience, return_when=asyncio.FIRST_COMPLETED
                )
                if not done and await self._speaks_implicit_tls():
                    hello.cancel()
                    await asyncio.gather(hello, return_exceptions=True)
                    raise self._error(ErrorCode.TLS_MODE_MISMATCH, suggested=Security.SSL.label)
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            lost.cancel()
            # The greeting is over: drop the hook (and its Event), one less closure per session.
            vars(client.protocol).pop("welcome", None)
        if not hello.done():
            hello.cancel()
            await asyncio.gather(hello, return_exceptions=True)
            raise self._error(ErrorCode.SERVER_DISCONNECTED, detail=self.greeting or None)
        await hello
        if client.protocol.state not in {"NONAUTH", "AUTH"}:
            raise self._error(ErrorCode.IMAP_UNEXPECTED_RESPONSE, command="CONNECT")

    def _bound(self, protocol: Any) -> None:
        """Hang up on a server whose response outgrows the limits (memory stays bounded)."""
        received = 0
        original_receive = protocol.data_received
        original_send = protocol.send

        def send(line: str, scrub: str | None = None) -> None:
            nonlocal received
            received = 0  # a new command: a new response
            original_send(line, scrub)

        def data_received(data: bytes) -> None:
            nonlocal received
            received += len(data)
            pending = len(protocol.incomplete_line) + len(data)
            if received > MAX_RESPONSE_BYTES or pending > MAX_LINE_BYTES:
                self._overflow = True
                protocol.incomplete_line = b""
                if protocol.transport is not None:
                    protocol.transport.abort()
                # aioimaplib never fails the commands pending on a lost connection (and holds
                # its state lock while one runs): end them, so nothing waits forever.
                commands: list[Any] = [
                    protocol.pending_sync_command,
                    *protocol.pending_async_commands.values(),
                ]
                for command in commands:
                    if command is not None:
                        command._exception = aioimaplib.Abort("response over the size limit")
                        command._event.set()
                return
            original_receive(data)

        protocol.send = send
        protocol.data_received = data_received
        original_continuation = protocol._continuation

        def continuation(line: bytes) -> None:
            pending = protocol.pending_sync_command
            mechanism = self._oauth_mechanism
            if pending is not None and pending.name == "AUTHENTICATE" and mechanism:
                # An OAuth error challenge: remember it, answer so the server ends the exchange.
                self._oauth_challenge = sasl.parse_challenge(line.lstrip(b"+ "))
                protocol.transport.write(sasl.failure_reply(mechanism) + b"\r\n")
                return
            original_continuation(line)

        protocol._continuation = continuation

    def _watch_greeting(self, protocol: Any) -> asyncio.Event:
        """Record the greeting line; a refusal (``* BYE``) sets the returned event.

        aioimaplib raises a refused greeting inside a task nobody awaits; wrapping its
        ``welcome`` keeps the line for the diagnosis and retrieves the error."""
        refused = asyncio.Event()
        original = protocol.welcome

        async def welcome(line: bytes) -> None:
            self.greeting = line.decode(errors="replace").strip()[:300]
            try:
                await original(line)
            except aioimaplib.Error:
                refused.set()

        protocol.welcome = welcome
        return refused

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

    def _after_handshake(self) -> None:
        transport = self._require().protocol.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport else None
        der = tls.peer_der(ssl_object)
        self.certificate = tls.describe(der) if der else None
        if self._inspecting:
            return
        try:
            tls.check_pin(self.endpoint.tls, ssl_object)
            drop_decoded_peercert(transport)
        except tls.PinMismatch as exc:
            self.close()
            raise self._error(
                ErrorCode.CERTIFICATE_INVALID,
                variant="pin_mismatch",
                reason="pin_mismatch",
                fingerprint=exc.fingerprint,
                **tls.certificate_facts(self.certificate),
            ) from exc

    async def _run(self, call: Awaitable[T], command: str) -> T:
        """Await one library call, bounded, racing a lost connection; translate failures."""
        lost = asyncio.ensure_future(self._lost.wait())
        task = asyncio.ensure_future(call)
        try:
            done, _ = await asyncio.wait(
                {task, lost}, timeout=self.timeout * 2, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            lost.cancel()
        if task in done:
            try:
                return task.result()
            except Exception as exc:
                await self.aclose()
                raise await self._translate(exc, command) from exc
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await self.aclose()
        code = ErrorCode.SERVER_DISCONNECTED if self._lost.is_set() else ErrorCode.TIMEOUT
        raise self._error(code, command=command)

    async def _checked(self, call: Awaitable[Any], command: str) -> Any:
        response = await self._run(call, command)
        if response.result != "OK":
            raise self._error(
                ErrorCode.IMAP_COMMAND_FAILED, detail=response_text(response), command=command
            )
        return response

    def _require(self) -> aioimaplib.IMAP4:
        if self._client is None or self._lost.is_set():
            raise self._error(ErrorCode.SERVER_DISCONNECTED)
        return self._client

    def _error(
        self,
        code: ErrorCode,
        *,
        detail: str | None = None,
        variant: str | None = None,
        **params: Any,
    ) -> MailError:
        ep = self.endpoint
        if self._overflow and code in (ErrorCode.SERVER_DISCONNECTED, ErrorCode.TIMEOUT):
            code, detail = ErrorCode.IMAP_UNEXPECTED_RESPONSE, "response over the size limit"
        base: dict[str, Any] = {"host": ep.host, "port": ep.port, "username": ep.username}
        base.setdefault("command", params.get("command", ""))
        return mail_error(
            code, params={**base, **params}, detail=detail, variant=variant, scope=Scope.IMAP
        )

    async def _translate(self, exc: BaseException, command: str) -> MailError:
        """The one place aioimaplib/ssl/socket exceptions become MailError."""
        cause = root_cause(exc)
        if isinstance(exc, aioimaplib.CommandTimeout):
            return self._error(ErrorCode.TIMEOUT, command=command)
        if isinstance(exc, aioimaplib.AioImapException):
            return self._error(
                ErrorCode.IMAP_UNEXPECTED_RESPONSE, detail=str(exc)[:300], command=command
            )
        code = classify_network_error(cause) or ErrorCode.SERVER_DISCONNECTED
        if code is ErrorCode.CERTIFICATE_INVALID:
            reason = tls.verification_reason(cause)
            leaf = await self._inspect_certificate()
            fingerprint = leaf.fingerprint if leaf else ""
            return self._error(
                ErrorCode.CERTIFICATE_INVALID,
                detail=str(cause),
                variant=reason,
                reason=reason,
                fingerprint=fingerprint,
                **tls.certificate_facts(leaf),
            )
        if code is ErrorCode.TLS_MODE_MISMATCH:
            other = Security.STARTTLS if self.endpoint.security is Security.SSL else Security.SSL
            return self._error(code, detail=str(cause), suggested=other.label)
        return self._error(code, detail=(str(cause) or type(cause).__name__)[:300])

    async def _inspect_certificate(self) -> tls.LeafCertificate | None:
        """Reconnect without verification only to read the certificate (never logs in)."""
        ep = self.endpoint
        budget = min(self.timeout, 5.0)
        if ep.security is Security.SSL:
            try:
                return await tls.fetch_leaf_certificate(
                    ep.host, ep.port, timeout=budget, egress_policy=ep.egress
                )
            except (OSError, TimeoutError, ValueError):
                return None
        probe = ImapSession(ep, timeout=budget)
        probe._inspecting = True
        try:
            await probe.open()
            await probe.secure()
            return probe.certificate
        except MailError:
            return None
        finally:
            await probe.aclose()


def sasl_failure_code(oauth_status: str) -> ErrorCode:
    """IMAP's code for a refused OAuth token (the scope when the server says 403)."""
    if oauth_status in {"403", "insufficient_scope"}:
        return ErrorCode.OAUTH_SCOPE_MISSING
    return ErrorCode.OAUTH_TOKEN_REJECTED


class _CheckedIMAP4(aioimaplib.IMAP4):  # type: ignore[misc]
    """aioimaplib over a socket opened through the egress policy (resolved once, checked,
    connected by address, peer checked); the host name is only used for TLS (SNI)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        timeout: float,
        conn_lost_cb: Callable[[Exception | None], None],
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self._endpoint = endpoint
        super().__init__(
            host=endpoint.host,
            port=endpoint.port,
            timeout=timeout,
            conn_lost_cb=conn_lost_cb,
            ssl_context=ssl_context,
        )

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Callable[[Exception | None], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        local_loop = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = aioimaplib.IMAP4ClientProtocol(local_loop, conn_lost_cb)
        self._client_task = local_loop.create_task(self._connect(local_loop, ssl_context))

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, ssl_context: ssl.SSLContext | None
    ) -> Any:
        ep = self._endpoint
        sock = await egress.open_socket(
            ep.host, ep.port, policy=ep.egress, purpose="mail", timeout=self.timeout
        )
        connected = await loop.create_connection(
            lambda: self.protocol,
            sock=sock,
            ssl=ssl_context,
            server_hostname=ep.host if ssl_context is not None else None,
        )
        share_tls_read_buffer(connected[0])
        return connected


async def connect_imap(
    endpoint: Endpoint,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - per step (connect, each command)
    login: bool = True,
) -> ImapSession:
    """Open, secure and (by default) log in; a ready session or a MailError."""
    session = ImapSession(endpoint, timeout=timeout)
    await session.open()
    try:
        await session.secure()
        if login:
            await session.login()
        session.share_capabilities()
    except BaseException:
        await session.aclose()
        raise
    return session


__all__ = [
    "DEFAULT_TIMEOUT",
    "FetchedMessage",
    "Folder",
    "FolderStatus",
    "ImapSession",
    "connect_imap",
]
