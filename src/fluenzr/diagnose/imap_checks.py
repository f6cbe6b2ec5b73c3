"""The IMAP half of Probar: connect, TLS (implicit or STARTTLS), LOGIN, find the test email in
INBOX without marking it read, find the Sent folder.

Runs the standard library's ``imaplib`` (it has STARTTLS; Probar is one short session) in a
worker thread, on a socket this module connected. Its exceptions are translated here, once,
into the ``imap_*`` taxonomy codes. INBOX is opened with EXAMINE (read-only) and only FLAGS
are fetched, so the test email stays unseen.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fluenzr.core.endpoints import Endpoint, Security, is_loopback
from fluenzr.diagnose import connect
from fluenzr.diagnose.probe import ProbeFunc, ProbeTarget
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.diagnose.runner import Done, Skip
from fluenzr.diagnose.taxonomy import mail_error
from fluenzr.errors import MailError
from fluenzr.mail import tls
from fluenzr.sending.imap_sent import SENT_NAMES

T = TypeVar("T")
_LIST_LINE = re.compile(rb'^\((?P<attrs>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$')
POLL_SECONDS = 0.2


class _Imap(imaplib.IMAP4):
    """imaplib on a socket we already connected (so DNS and TCP are steps of their own)."""

    def __init__(self, sock: socket.socket, host: str, port: int, implicit: ssl.SSLContext | None):
        self._given = sock
        self._implicit = implicit
        super().__init__(host, port)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        if self._implicit is not None:
            return self._implicit.wrap_socket(self._given, server_hostname=self.host)
        return self._given


@dataclass
class ImapRun:
    endpoint: Endpoint
    lookup: DnsLookup
    probe: ProbeFunc
    seconds: float
    mismatch_after: float
    wait: float  # how long to wait for the test email
    message_id: str | None = None  # set once the SMTP half has sent it
    addresses: list[str] = field(default_factory=list)
    address: str | None = None
    sock: socket.socket | None = None
    client: _Imap | None = None

    def params(self, **more: Any) -> dict[str, Any]:
        host, port = self.endpoint.host, self.endpoint.port
        return {"host": host, "port": port, "username": self.endpoint.username, **more}


def _text(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith(("b'", 'b"')):
        text = text[2:-1]
    return text or type(exc).__name__


def _disconnected(run: ImapRun, exc: BaseException) -> MailError:
    return mail_error("imap_server_disconnected", params=run.params(), detail=_text(exc))


@contextlib.contextmanager
def translated(run: ImapRun, command: str) -> Iterator[None]:
    """imaplib, ssl and socket errors → ``imap_*`` MailError."""
    try:
        yield
    except MailError:
        raise
    except imaplib.IMAP4.abort as exc:
        raise mail_error(
            "imap_server_disconnected", params=run.params(), detail=_text(exc)
        ) from None
    except imaplib.IMAP4.error as exc:
        params = run.params(command=command)
        raise mail_error("imap_command_failed", params=params, detail=_text(exc)) from None
    except TimeoutError:
        raise mail_error("imap_timeout", params=run.params(), detail=command) from None
    except ssl.SSLError as exc:
        raise connect.tls_error(run.endpoint, exc, prefix="imap_", expected="TLS") from None
    except OSError as exc:
        raise connect.socket_error(run.endpoint, exc, prefix="imap_") from None


async def _thread(func: Callable[[], T]) -> T:
    return await asyncio.to_thread(func)


async def step_dns(run: ImapRun) -> Done:
    try:
        run.addresses = await run.lookup.addresses(run.endpoint.host)
    except MailError as error:
        code = "imap_dns_not_found" if error.code == "dns_not_found" else "imap_timeout"
        raise mail_error(code, params=run.params(), detail=error.detail) from None
    return Done(", ".join(run.addresses))


async def step_tcp(run: ImapRun) -> Done:
    run.sock, run.address = await connect.open_tcp(
        run.endpoint, run.addresses, seconds=run.seconds, prefix="imap_"
    )
    run.sock.setblocking(True)
    run.sock.settimeout(run.seconds)
    return Done(f"{run.address}:{run.endpoint.port}")


async def _open_plain(run: ImapRun) -> _Imap:
    """Read the plaintext greeting; if the server stays silent, check for implicit TLS."""
    assert run.sock is not None
    sock, host, port = run.sock, run.endpoint.host, run.endpoint.port
    task = asyncio.ensure_future(_thread(lambda: _Imap(sock, host, port, None)))
    done, _ = await asyncio.wait({task}, timeout=run.mismatch_after)
    if not done:
        probe = asyncio.ensure_future(run.probe(ProbeTarget("imap", host, port, Security.SSL)))
        await asyncio.wait({task, probe}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and (await probe).answered:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread up
            with contextlib.suppress(Exception):
                await task
            params = run.params(suggested=Security.SSL.label)
            raise mail_error("imap_tls_mode_mismatch", params=params, detail="TLS greeting")
    with translated(run, "CONNECT"):
        return await task


def _describe_tls(client: _Imap, trust: str) -> str:
    sock = client.sock
    if not isinstance(sock, ssl.SSLSocket):
        return ""
    cipher = sock.cipher()
    return f"{sock.version()} {cipher[0] if cipher else ''}, {trust}".strip()


async def step_tls(run: ImapRun) -> Done:
    endpoint, sock = run.endpoint, run.sock
    assert sock is not None
    context = tls.client_context(endpoint.tls)
    if endpoint.security is Security.NONE:
        if not is_loopback(endpoint.host):
            raise mail_error("imap_cleartext_not_allowed", params=run.params())
        run.client = await _open_plain(run)
        return Done("no encryption (loopback)")
    try:
        if endpoint.security is Security.SSL:
            host, port = endpoint.host, endpoint.port
            with translated(run, "CONNECT"):
                run.client = await _thread(lambda: _Imap(sock, host, port, context))
        else:
            client = run.client = await _open_plain(run)
            if "STARTTLS" not in client.capabilities:
                raise mail_error("imap_starttls_unavailable", params=run.params())
            with translated(run, "STARTTLS"):
                await _thread(lambda: client.starttls(context))
    except MailError as error:
        raise await _explain_certificate(run, error) from None
    client = run.client
    ssl_socket = client.sock if isinstance(client.sock, ssl.SSLSocket) else None
    trust = connect.trust(endpoint, ssl_socket, prefix="imap_")
    return Done(_describe_tls(client, trust))


def _verify_failure(error: BaseException) -> ssl.SSLCertVerificationError | None:
    cause: BaseException | None = error.__context__
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


async def _explain_certificate(run: ImapRun, error: MailError) -> MailError:
    failure = _verify_failure(error)
    if failure is None:
        return error
    der = await _thread(lambda: _fetch_der(run))
    return connect.certificate_error(
        run.endpoint,
        reason=tls.verification_reason(failure),
        fingerprint=tls.fingerprint(der) if der else "",
        prefix="imap_",
        detail=failure.verify_message,
    )


def _fetch_der(run: ImapRun) -> bytes | None:
    """Connect again without verification, only to show the refused certificate's fingerprint."""
    assert run.address is not None
    endpoint, unverified = run.endpoint, tls.inspection_context()
    implicit = unverified if endpoint.security is Security.SSL else None
    try:
        sock = socket.create_connection((run.address, endpoint.port), timeout=run.seconds)
        client = _Imap(sock, endpoint.host, endpoint.port, implicit)
        try:
            if implicit is None:
                client.starttls(unverified)
            return client.sock.getpeercert(True) if isinstance(client.sock, ssl.SSLSocket) else None
        finally:
            with contextlib.suppress(Exception):
                client.shutdown()
    except (imaplib.IMAP4.error, OSError):
        return None


async def step_login(run: ImapRun) -> Done:
    client = run.client
    assert client is not None
    if not isinstance(client.sock, ssl.SSLSocket) and not is_loopback(run.endpoint.host):
        raise mail_error("imap_cleartext_not_allowed", params=run.params())
    username, password = run.endpoint.username, run.endpoint.password
    try:
        await _thread(lambda: client.login(username, password.reveal()))
    except imaplib.IMAP4.abort as exc:
        raise mail_error(
            "imap_server_disconnected", params=run.params(), detail=_text(exc)
        ) from None
    except imaplib.IMAP4.error as exc:
        raise mail_error("imap_auth_failed", params=run.params(), detail=_text(exc)) from None
    except OSError as exc:
        with translated(run, "LOGIN"):
            raise exc from None
    return Done(username)


def _search(client: _Imap, message_id: str) -> str | None:
    typ, data = client.uid("SEARCH", "HEADER", "Message-ID", message_id)
    found = (data[0] or b"").split() if typ == "OK" and data else []
    return found[0].decode() if found else None


def _flags(client: _Imap, uid: str) -> str:
    typ, data = client.uid("FETCH", uid, "(FLAGS)")
    raw = data[0] if typ == "OK" and data else b""
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


async def step_inbox(run: ImapRun, *, skip_reason: str) -> Done:
    client = run.client
    assert client is not None
    message_id = run.message_id
    if message_id is None:
        raise Skip(skip_reason)
    with translated(run, "EXAMINE"):
        typ, _ = await _thread(lambda: client.select("INBOX", readonly=True))
    if typ != "OK":
        raise mail_error("imap_folder_not_found", params=run.params(folder="INBOX"))
    started = time.monotonic()
    while True:
        with translated(run, "SEARCH"):
            uid = await _thread(lambda: _search(client, message_id))
        elapsed = time.monotonic() - started
        if uid is not None:
            break
        if elapsed >= run.wait:
            params = run.params(seconds=round(run.wait))
            raise mail_error("test_mail_not_received", params=params, detail=message_id)
        await asyncio.sleep(POLL_SECONDS)
    with translated(run, "FETCH"):
        flags = await _thread(lambda: _flags(client, uid))
    state = "seen" if "\\Seen" in flags else "unseen"
    return Done(f"INBOX UID {uid} after {elapsed:.1f} s, {state}")


def sent_folder(lines: list[Any]) -> tuple[str, str] | None:
    """(folder, how) from LIST lines: SPECIAL-USE ``\\Sent`` (RFC 6154), else a known name."""
    names: list[str] = []
    for raw in lines:
        match = _LIST_LINE.match(raw if isinstance(raw, bytes) else b"")
        if match is None:
            continue
        name = match.group("name").strip().decode(errors="replace")
        name = name[1:-1].replace('\\"', '"') if name.startswith('"') else name
        if b"\\sent" in match.group("attrs").lower().split():
            return name, "\\Sent"
        names.append(name)
    lower = {name.lower(): name for name in names}
    for known in SENT_NAMES:
        if known.lower() in lower:
            return lower[known.lower()], "name"
    return None


async def step_sent(run: ImapRun) -> Done:
    client = run.client
    assert client is not None
    with translated(run, "LIST"):
        typ, data = await _thread(lambda: client.list('""', "*"))
    found = sent_folder(list(data) if typ == "OK" else [])
    if found is None:
        return Done("", warning=mail_error("sent_folder_not_found", params=run.params()))
    folder, how = found
    return Done(f"{folder} ({how})")


async def close(run: ImapRun) -> None:
    client = run.client
    if client is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(_thread(client.logout), 2)
    elif run.sock is not None:
        run.sock.close()
