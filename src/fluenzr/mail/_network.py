"""What went wrong below the mail protocol (DNS, TCP, TLS), as a taxonomy code suffix.

Shared by :mod:`fluenzr.mail.smtp` and :mod:`fluenzr.mail.imap` (which prefixes ``imap_``).
Only the transports call this: it is part of the one place library exceptions are translated.
"""

from __future__ import annotations

import errno
import socket
import ssl

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


def classify_network_error(error: BaseException) -> str | None:
    """``egress_refused``, ``dns_not_found``, ``certificate_invalid``… or None if not one."""
    if isinstance(error, EgressRefused):
        return "egress_refused"
    if tls.is_certificate_error(error):
        return "certificate_invalid"
    if isinstance(error, socket.gaierror):
        return "dns_not_found"
    if isinstance(error, ConnectionRefusedError):
        return "connection_refused"
    if tls.is_not_tls(error):
        return "tls_mode_mismatch"
    if isinstance(error, ssl.SSLError):
        return "tls_failed"
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ConnectionError | EOFError):
        return "server_disconnected"
    if isinstance(error, OSError) and error.errno in _UNREACHABLE:
        return "host_unreachable"
    if isinstance(error, OSError):
        return "server_disconnected"
    return None


__all__ = ["classify_network_error", "root_cause"]
