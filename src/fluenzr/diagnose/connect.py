"""Probar's own TCP step: open a socket to the resolved addresses, errors as taxonomy codes.

Everything above TCP (TLS, trust, the protocols) is the transports' (:mod:`fluenzr.mail`).
``prefix`` is ``""`` for SMTP and ``"imap_"`` for IMAP, so the same failure gets the protocol's
own code and hint.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket

from fluenzr.core.endpoints import Endpoint
from fluenzr.error_codes import IMAP_CODES, ErrorCode
from fluenzr.errors import MailError, ValidationError, mail_error

_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


def check_ca_file(endpoint: Endpoint) -> None:
    """An account's CA file that vanished or is unreadable is bad input, not a server fault."""
    ca_file = endpoint.tls.ca_file
    if ca_file and not os.access(ca_file, os.R_OK):
        raise ValidationError(
            ErrorCode.CA_FILE_INVALID, params={"field": "ca_file", "value": ca_file}
        )


def trust_label(endpoint: Endpoint) -> str:
    """How the server's certificate is trusted, for a step's detail line."""
    if endpoint.tls.pin_sha256:
        return "pinned SHA-256"
    return "CA file" if endpoint.tls.ca_file else "system"


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
    return mail_error(IMAP_CODES[code] if imap else code, params=params, detail=detail)


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
    """A connected socket to the first address that accepts, within ``seconds`` in all."""
    last: OSError = ConnectionRefusedError(errno.ECONNREFUSED, "no address")
    try:
        async with asyncio.timeout(seconds):
            for address in addresses:
                try:
                    return await _connect_one(address, endpoint.port), address
                except OSError as exc:
                    last = exc
    except TimeoutError:
        last = TimeoutError()
    raise socket_error(endpoint, last, imap=imap)
