"""Probar's own TCP step: open a socket to the resolved addresses, errors as taxonomy codes.

Everything above TCP (TLS, trust, the protocols) is the transports' (:mod:`fluenzr.mail`).
``imap`` says which protocol the step is for: the same failure gets the same code, with the
error's scope (``smtp``/``imap``) choosing the protocol's wording where it differs.
"""

from __future__ import annotations

import asyncio
import errno
import socket

from fluenzr.core.egress import refusal
from fluenzr.core.endpoints import Endpoint
from fluenzr.error_codes import ErrorCode, Scope
from fluenzr.errors import MailError, mail_error
from fluenzr.mail.egress import EgressRefused, check_peer

_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


def trust_label(endpoint: Endpoint) -> str:
    """How the server's certificate is trusted, for a step's detail line."""
    if endpoint.tls.pin_sha256:
        return "pinned SHA-256"
    return "account CA" if endpoint.tls.ca_pem else "system"


def socket_error(endpoint: Endpoint, exc: OSError, *, imap: bool) -> MailError:
    params = {"host": endpoint.host, "port": endpoint.port}
    detail = exc.strerror or type(exc).__name__
    code = ErrorCode.HOST_UNREACHABLE
    if isinstance(exc, ConnectionRefusedError):
        code = ErrorCode.CONNECTION_REFUSED
    elif isinstance(exc, TimeoutError):
        code, detail = ErrorCode.TIMEOUT, "connect"
    elif exc.errno in _UNREACHABLE:
        code = ErrorCode.HOST_UNREACHABLE
    elif isinstance(exc, ConnectionError):
        code = ErrorCode.SERVER_DISCONNECTED
    return mail_error(code, params=params, detail=detail, scope=_scope(imap=imap))


def _scope(*, imap: bool) -> Scope:
    return Scope.IMAP if imap else Scope.SMTP


async def _connect_one(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def open_tcp(
    endpoint: Endpoint, addresses: list[str], *, seconds: float, imap: bool = False
) -> tuple[socket.socket, str]:
    """A connected socket to the first address that accepts, within ``seconds`` in all.

    Only addresses the egress policy allows are tried, and the connected peer is checked again.
    """
    allowed = [a for a in addresses if refusal(a, policy=endpoint.egress, purpose="mail") is None]
    if addresses and not allowed:
        kind = refusal(addresses[0], policy=endpoint.egress, purpose="mail")
        raise mail_error(
            ErrorCode.EGRESS_REFUSED,
            params={"host": endpoint.host, "port": endpoint.port, "kind": kind},
            scope=_scope(imap=imap),
        )
    last: OSError = ConnectionRefusedError(errno.ECONNREFUSED, "no address")
    try:
        async with asyncio.timeout(seconds):
            for address in allowed:
                try:
                    sock = await _connect_one(address, endpoint.port)
                except OSError as exc:
                    last = exc
                    continue
                try:
                    check_peer(sock, host=endpoint.host, policy=endpoint.egress, purpose="mail")
                except EgressRefused as exc:
                    sock.close()
                    raise mail_error(
                        ErrorCode.EGRESS_REFUSED,
                        params={"host": endpoint.host, "port": endpoint.port, "kind": exc.kind},
                        scope=_scope(imap=imap),
                    ) from exc
                return sock, address
    except TimeoutError:
        last = TimeoutError()
    raise socket_error(endpoint, last, imap=imap)
