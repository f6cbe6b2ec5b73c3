"""Validation of account fields at the boundary: each failure names the field and a fix.

Pure functions over plain values; the accounts service calls them before touching storage,
so a rejected command writes nothing.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from fluenzr.core.endpoints import Security, is_loopback
from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# Well-known ports and the only security that makes sense on them.
PORT_SECURITY: dict[int, Security] = {
    465: Security.SSL,
    587: Security.STARTTLS,
    993: Security.SSL,
    143: Security.STARTTLS,
}
CA_PEM_MAX_BYTES = 64 * 1024  # a CA bundle of a few certificates; more is not a CA
DEFAULT_SMTP_PORT = {Security.STARTTLS: 587, Security.SSL: 465, Security.NONE: 25}
DEFAULT_IMAP_PORT = {Security.STARTTLS: 143, Security.SSL: 993, Security.NONE: 143}


def invalid(code: ErrorCode, field: str, **params: object) -> ValidationError:
    return ValidationError(code, params={"field": field, **params})


def email(value: str, *, field: str = "email") -> str:
    text = (value or "").strip()
    if not text:
        raise invalid(ErrorCode.EMAIL_MISSING, field)
    try:
        return _normalized(text)
    except EmailNotValidError as exc:
        raise invalid(ErrorCode.EMAIL_INVALID, field, value=text, reason=str(exc)) from exc


@functools.lru_cache(maxsize=4096)
def _normalized(text: str) -> str:
    """A valid address's normal form (a pure function, cached: an import checks each address
    twice, once to find duplicates and once with the form's rules; failures are not cached)."""
    # No DNS at this step. `.test` (RFC 2606) is accepted like everywhere else in the
    # product: self-hosted and test servers use it; other special-use names stay refused.
    return validate_email(text, check_deliverability=False, test_environment=True).normalized


def display_name(value: str | None) -> str:
    text = (value or "").strip()
    if "\r" in text or "\n" in text or len(text) > 200:
        raise invalid(ErrorCode.DISPLAY_NAME_INVALID, "name")
    return text


def host(value: str | None, *, field: str) -> str:
    text = (value or "").strip().rstrip(".").lower()
    if not text:
        raise invalid(ErrorCode.HOST_MISSING, field)
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    try:
        ascii_host = text.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise invalid(ErrorCode.HOST_INVALID, field, value=text) from exc
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise invalid(ErrorCode.HOST_INVALID, field, value=text)
    if all(label.isdigit() for label in labels):
        raise invalid(ErrorCode.HOST_INVALID, field, value=text)
    return text


def port(value: int | str | None, *, field: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise invalid(ErrorCode.PORT_INVALID, field, value=value) from exc
    if not 1 <= number <= 65535:
        raise invalid(ErrorCode.PORT_INVALID, field, value=value)
    return number


def security(value: str | None, *, field: str) -> Security:
    text = (value or "").strip().lower()
    aliases = {"tls": "starttls", "starttls": "starttls", "ssl": "ssl", "none": "none"}
    if text not in aliases:
        raise invalid(ErrorCode.SECURITY_INVALID, field, value=value)
    return Security(aliases[text])


def port_security(number: int, mode: Security, *, host_name: str, field: str, force: bool) -> None:
    """465/993 speak implicit TLS, 587/143 STARTTLS; cleartext only on loopback."""
    if mode is Security.NONE and not is_loopback(host_name):
        raise invalid(ErrorCode.CLEARTEXT_NOT_LOOPBACK, field, host=host_name)
    expected = PORT_SECURITY.get(number)
    if expected is not None and mode is not Security.NONE and mode is not expected and not force:
        raise invalid(
            ErrorCode.SECURITY_PORT_MISMATCH,
            field,
            port=number,
            given=mode.label,
            expected=expected.label,
        )


def password(value: Secret | None, *, field: str = "password") -> Secret:
    if value is None or not value.reveal():
        raise invalid(ErrorCode.PASSWORD_EMPTY, field)
    return value


def ca_pem(value: str | None, *, field: str) -> str | None:
    """A CA certificate as PEM *text* (one or more certificates), re-serialised canonically.

    Never a path: the server opens no file on a tenant's behalf, so nothing here can block on a
    FIFO or reveal whether a path exists — a path is just text that is not PEM, refused with the
    same message as any other garbage."""
    if value is None or not value.strip():
        return None
    data = value.encode("utf-8", "replace")
    if len(data) > CA_PEM_MAX_BYTES:
        raise invalid(ErrorCode.CA_PEM_TOO_LARGE, field, limit=CA_PEM_MAX_BYTES // 1024)
    if b"PRIVATE KEY" in data:
        raise invalid(ErrorCode.CA_PEM_PRIVATE_KEY, field)
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise invalid(ErrorCode.CA_PEM_INVALID, field)
    # lazy: cryptography.x509 (~0.05 s) only when a CA is given; `fluenzr send` checks addresses
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise invalid(ErrorCode.CA_PEM_INVALID, field) from exc
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certificates)


def pin(value: str | None) -> str | None:
    if not value:
        return None
    text = value.strip().lower().replace(":", "")
    if text.startswith("sha256/") or text.startswith("sha256:"):
        text = text[7:]
    if not _HEX64.match(text):
        raise invalid(ErrorCode.PIN_INVALID, "pin_sha256")
    return text


def limit(value: int | None, *, field: str, minimum: int, maximum: int) -> int | None:
    if value is None:
        return None
    if not minimum <= value <= maximum:
        raise invalid(ErrorCode.LIMIT_INVALID, field, minimum=minimum, maximum=maximum, value=value)
    return value


def limits_order_problems(
    *, daily: int, hourly: int, min_interval: int, max_interval: int
) -> list[ValidationError]:
    """The cross-field rules of the limits: hourly ≤ daily, min interval ≤ max interval."""
    found = []
    if hourly > daily:
        found.append(
            invalid(ErrorCode.HOURLY_OVER_DAILY, "hourly_limit", hourly=hourly, daily=daily)
        )
    if max_interval < min_interval:
        found.append(invalid(ErrorCode.INTERVAL_ORDER, "max_interval"))
    return found


def limits_order(*, daily: int, hourly: int, min_interval: int, max_interval: int) -> None:
    found = limits_order_problems(
        daily=daily, hourly=hourly, min_interval=min_interval, max_interval=max_interval
    )
    if found:
        raise found[0]


def timezone(value: str | None) -> str | None:
    if not value:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid(ErrorCode.TIMEZONE_INVALID, "timezone", value=value) from exc
    return value
