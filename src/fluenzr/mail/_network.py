"""What went wrong below the mail protocol (DNS, TCP, TLS), as an error code.

Shared by :mod:`fluenzr.mail.smtp` and :mod:`fluenzr.mail.imap`: one code for both, the
transport's error carries its scope.
Only the transports call this: it is part of the one place library exceptions are translated.
"""

from __future__ import annotations

import errno
import socket
import ssl

from fluenzr.error_codes import ErrorCode
from fluenzr.mail import tls
from fluenzr.mail.egress import EgressRefused

_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL}


def root_cause(error: BaseException) -> BaseException:
    """The innermost exception (aiosmtplib wraps OSError in its own errors)."""
    seen = {id(error)}
    # asyncio.wait_for raises TimeoutError from CancelledError: stop at the TimeoutError.
    while isinstance(error.__cause__, Exception) and id(error.__cause__) not in seen:
        error = error.__cause__
        seen.add(id(error))
    return error


def classify_network_error(error: BaseException) -> ErrorCode | None:
    """``egress_refused``, ``dns_not_found``, ``certificate_invalid``… or None if not one."""
    if isinstance(error, EgressRefused):
        return ErrorCode.EGRESS_REFUSED
    if tls.is_certificate_error(error):
        return ErrorCode.CERTIFICATE_INVALID
    if isinstance(error, socket.gaierror):
        return ErrorCode.DNS_NOT_FOUND
    if isinstance(error, ConnectionRefusedError):
        return ErrorCode.CONNECTION_REFUSED
    if tls.is_not_tls(error):
        return ErrorCode.TLS_MODE_MISMATCH
    if isinstance(error, ssl.SSLError):
        return ErrorCode.TLS_FAILED
    if isinstance(error, TimeoutError):
        return ErrorCode.TIMEOUT
    if isinstance(error, ConnectionError | EOFError):
        return ErrorCode.SERVER_DISCONNECTED
    if isinstance(error, OSError) and error.errno in _UNREACHABLE:
        return ErrorCode.HOST_UNREACHABLE
    if isinstance(error, OSError):
        return ErrorCode.SERVER_DISCONNECTED
    return None


__all__ = ["classify_network_error", "root_cause"]
