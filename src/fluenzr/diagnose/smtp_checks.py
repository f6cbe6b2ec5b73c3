"""The SMTP half of Probar: one connection taken step by step, each step a small function.

aiosmtplib's exceptions are translated here, once, into taxonomy codes (replies through
:func:`fluenzr.diagnose.classify.classify_reply`). The password is revealed only in the AUTH
step, which runs after TLS is up (or on a loopback cleartext connection): a server offering
AUTH in clear on a STARTTLS port never sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from fluenzr.core.endpoints import Endpoint, Security, is_loopback
from fluenzr.diagnose import connect
from fluenzr.diagnose.classify import Stage, classify_reply
from fluenzr.diagnose.probe import ProbeFunc, ProbeTarget
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.diagnose.runner import Done
from fluenzr.diagnose.taxonomy import mail_error
from fluenzr.errors import MailError

# Over TLS, PLAIN is as safe as any and universally offered; CRAM-MD5 only helps in clear.
_MECHANISMS_TLS = ("plain", "login", "cram-md5")
_MECHANISMS_CLEAR = ("cram-md5", "plain", "login")


@dataclass
class SmtpRun:
    endpoint: Endpoint
    email: str
    lookup: DnsLookup
    probe: ProbeFunc
    seconds: float  # connect and each reply
    mismatch_after: float  # silence before checking whether the port speaks the other TLS mode
    # Called once when the server is slow to answer (Probar then starts probing other ports).
    on_slow: Callable[[], None] | None = None
    addresses: list[str] = field(default_factory=list)
    address: str | None = None
    sock: socket.socket | None = None
    client: aiosmtplib.SMTP | None = None
    tls_detail: str = ""

    def params(self, **more: Any) -> dict[str, Any]:
        base = {"host": self.endpoint.host, "port": self.endpoint.port}
        base.update(username=self.endpoint.username, sender=self.email, recipient=self.email)
        return {**base, **more}

    def slow(self) -> None:
        if self.on_slow is not None:
            self.on_slow()
            self.on_slow = None


@contextlib.contextmanager
def translated(run: SmtpRun, stage: Stage) -> Iterator[None]:
    """aiosmtplib and socket errors → MailError, for the dialogue at ``stage``."""
    try:
        yield
    except MailError:
        raise
    except aiosmtplib.SMTPResponseException as exc:
        raise reply_error(run, stage, exc.code, exc.message) from None
    except (aiosmtplib.SMTPTimeoutError, TimeoutError):
        raise mail_error("timeout", params=run.params(), detail=stage.value) from None
    except ssl.SSLError as exc:
        raise connect.tls_error(run.endpoint, exc, prefix="", expected="TLS") from None
    except aiosmtplib.SMTPException as exc:
        cause = exc.__cause__
        if isinstance(cause, ssl.SSLError):
            raise connect.tls_error(run.endpoint, cause, prefix="", expected="TLS") from None
        detail = str(exc) or type(exc).__name__
        raise mail_error("server_disconnected", params=run.params(), detail=detail) from None
    except OSError as exc:
        raise connect.socket_error(run.endpoint, exc, prefix="") from None


def reply_error(run: SmtpRun, stage: Stage, code: int, text: str) -> MailError:
    found = classify_reply(stage, code, text)
    name = "unexpected_reply" if found.accepted else found.code
    detail = f"{code} {text}".strip()
    return mail_error(
        name,
        params=run.params(
            mechanisms=", ".join(run.client.server_auth_methods) if run.client else ""
        ),
        detail=detail,
        reply_code=code,
        enhanced_code=found.enhanced_code,
    )


async def step_dns(run: SmtpRun) -> Done:
    run.addresses = await run.lookup.addresses(run.endpoint.host)
    return Done(", ".join(run.addresses))


async def step_tcp(run: SmtpRun) -> Done:
    task = asyncio.ensure_future(connect.open_tcp(run.endpoint, run.addresses, seconds=run.seconds))
    done, _ = await asyncio.wait({task}, timeout=run.mismatch_after)
    if not done:
        run.slow()
    run.sock, run.address = await task
    return Done(f"{run.address}:{run.endpoint.port}")


def _local_name(sock: socket.socket) -> str:
    """EHLO with our address literal (RFC 5321 4.1.3): no reverse lookup, nothing revealed."""
    address = str(sock.getsockname()[0])
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def _new_client(run: SmtpRun, *, implicit: bool, context: ssl.SSLContext) -> aiosmtplib.SMTP:
    assert run.sock is not None
    return aiosmtplib.SMTP(
        hostname=run.endpoint.host,
        sock=run.sock,
        use_tls=implicit,
        start_tls=False,
        tls_context=context,
        timeout=run.seconds,
        local_hostname=_local_name(run.sock),
    )


def _peer_der(client: aiosmtplib.SMTP) -> bytes | None:
    ssl_object = client.get_transport_info("ssl_object")
    return ssl_object.getpeercert(binary_form=True) if ssl_object else None


def _describe_tls(client: aiosmtplib.SMTP, trust: str) -> str:
    ssl_object = client.get_transport_info("ssl_object")
    if ssl_object is None:
        return ""
    cipher = ssl_object.cipher()
    return f"{ssl_object.version()} {cipher[0] if cipher else ''}, {trust}".strip()


async def _greeting(run: SmtpRun, client: aiosmtplib.SMTP) -> None:
    """Read the plaintext greeting; if the server stays silent, check for implicit TLS."""
    task = asyncio.ensure_future(client.connect())
    done, _ = await asyncio.wait({task}, timeout=run.mismatch_after)
    if not done:
        run.slow()
        target = ProbeTarget("smtp", run.endpoint.host, run.endpoint.port, Security.SSL)
        probe = asyncio.ensure_future(run.probe(target))
        await asyncio.wait({task, probe}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            outcome = await probe
            if outcome.answered:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                params = run.params(suggested=Security.SSL.label)
                raise mail_error("tls_mode_mismatch", params=params, detail="TLS greeting")
    with translated(run, Stage.GREETING):
        await task


async def step_tls(run: SmtpRun) -> Done:
    endpoint = run.endpoint
    context = connect.client_context(endpoint)
    if endpoint.security is Security.NONE:
        if not is_loopback(endpoint.host):
            raise mail_error("cleartext_not_allowed", params=run.params())
        run.client = _new_client(run, implicit=False, context=context)
        await _greeting(run, run.client)
        return Done("no encryption (loopback)")
    implicit = endpoint.security is Security.SSL
    run.client = _new_client(run, implicit=implicit, context=context)
    try:
        if implicit:
            with translated(run, Stage.GREETING):
                await run.client.connect()
        else:
            await _greeting(run, run.client)
            with translated(run, Stage.EHLO):
                await run.client.ehlo()
            if not run.client.supports_extension("starttls"):
                raise mail_error("starttls_unavailable", params=run.params())
            with translated(run, Stage.STARTTLS):
                await run.client.starttls(tls_context=context)
    except MailError as error:
        raise await _explain_certificate(run, error) from None
    trust = connect.check_pin(endpoint, _peer_der(run.client))
    return Done(_describe_tls(run.client, trust))


def _verify_failure(error: MailError) -> ssl.SSLCertVerificationError | None:
    cause: BaseException | None = error.__context__
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


async def _explain_certificate(run: SmtpRun, error: MailError) -> MailError:
    """A refused certificate: say why, and fetch it again (unverified) to show its fingerprint."""
    failure = _verify_failure(error)
    if failure is None:
        return error
    der = await _fetch_der(run)
    return connect.certificate_error(
        run.endpoint,
        variant=connect.verify_variant(failure),
        der=der,
        detail=failure.verify_message,
    )


async def _fetch_der(run: SmtpRun) -> bytes | None:
    assert run.address is not None
    implicit = run.endpoint.security is Security.SSL
    client: aiosmtplib.SMTP | None = None
    try:
        async with asyncio.timeout(run.seconds):
            sock, _ = await connect.open_tcp(run.endpoint, [run.address], seconds=run.seconds)
            client = aiosmtplib.SMTP(
                hostname=run.endpoint.host,
                sock=sock,
                use_tls=implicit,
                start_tls=False,
                tls_context=connect.unverified_context(),
                timeout=run.seconds,
                local_hostname=_local_name(sock),
            )
            await client.connect()
            if not implicit:
                await client.starttls(tls_context=connect.unverified_context())
            return _peer_der(client)
    except (aiosmtplib.SMTPException, OSError, MailError):
        return None
    finally:
        if client is not None:
            client.close()


async def step_ehlo(run: SmtpRun) -> Done:
    assert run.client is not None
    with translated(run, Stage.EHLO):
        await run.client.ehlo()
    names = sorted(run.client.esmtp_extensions)
    return Done(", ".join(name.upper() for name in names) or "HELO only")


def _mechanism(run: SmtpRun) -> str:
    assert run.client is not None
    offered = [m.lower() for m in run.client.server_auth_methods]
    clear = run.endpoint.security is Security.NONE
    for mechanism in _MECHANISMS_CLEAR if clear else _MECHANISMS_TLS:
        if mechanism in offered:
            return mechanism
    shown = ", ".join(m.upper() for m in offered) or "—"
    raise mail_error(
        "auth_mechanism_unsupported",
        params=run.params(mechanisms=shown),
        detail=f"AUTH {shown}" if offered else "no AUTH offered",
    )


async def step_auth(run: SmtpRun) -> Done:
    client = run.client
    assert client is not None
    encrypted = client.get_transport_info("sslcontext") is not None
    # Belt and braces: the TLS step already refused this, but the password is the one thing
    # that must never leak.
    if not encrypted and not is_loopback(run.endpoint.host):
        raise mail_error("cleartext_not_allowed", params=run.params())
    mechanism = _mechanism(run)
    method = {"plain": client.auth_plain, "login": client.auth_login}.get(
        mechanism, client.auth_crammd5
    )
    with translated(run, Stage.AUTH):
        await method(run.endpoint.username, run.endpoint.password.reveal())
    offered = " ".join(m.upper() for m in client.server_auth_methods)
    return Done(f"{mechanism.upper()} ({offered})")


async def send_message(run: SmtpRun, message: EmailMessage) -> str:
    """MAIL, RCPT, DATA to the account itself; the server's final reply (queue id)."""
    client = run.client
    assert client is not None
    data = message.as_bytes()
    utf8 = not run.email.isascii()
    options, encoding = (["SMTPUTF8"], "utf-8") if utf8 else ([], "ascii")
    with translated(run, Stage.MAIL):
        await client.mail(run.email, options=options, encoding=encoding)
    with translated(run, Stage.RCPT):
        await client.rcpt(run.email, encoding=encoding)
    with translated(run, Stage.MESSAGE):
        response = await client.data(data)
    return f"{response.code} {response.message}"


async def close(run: SmtpRun) -> None:
    if run.client is not None and run.client.is_connected:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            async with asyncio.timeout(2):
                await run.client.quit()
        run.client.close()
    elif run.sock is not None:
        run.sock.close()
