"""Turn what the user typed (plus a preset) into one complete, validated account config."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from fluenzr.core.endpoints import Security
from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.presets.catalogue import Preset, get_preset, match_preset
from fluenzr.services import account_rules
from fluenzr.services.account_fields import LIMIT_RANGES


@dataclass(frozen=True)
class AccountInput:
    """Fields as typed by a user (CLI options, API body, web form). None = not given."""

    email: str
    display_name: str = ""
    preset: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: str | None = None
    username: str | None = None
    password: Secret | None = None
    imap_host: str | None = None
    imap_port: int | None = None
    imap_security: str | None = None
    imap_username: str | None = None
    imap_password: Secret | None = None
    smtp_ca_pem: str | None = None
    imap_ca_pem: str | None = None
    pin_sha256: str | None = None
    # False only when the user explicitly chose "no authentication" (a local relay).
    smtp_auth: bool = True
    daily_limit: int | None = None
    hourly_limit: int | None = None
    min_interval: int | None = None
    max_interval: int | None = None
    timezone: str | None = None
    force: bool = False

    def with_changes(self, changes: dict[str, Any]) -> AccountInput:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise account_rules.invalid(ErrorCode.FIELD_UNKNOWN, sorted(unknown)[0])
        return replace(self, **changes)


@dataclass(frozen=True)
class AccountConfig:
    """A validated account, ready to store. IMAP fields are all None when IMAP is off."""

    email: str
    display_name: str
    provider: str
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    smtp_username: str
    imap_host: str | None
    imap_port: int | None
    imap_security: Security | None
    imap_username: str | None
    smtp_ca_pem: str | None
    imap_ca_pem: str | None
    pin_sha256: str | None
    smtp_auth: bool
    limits: dict[str, int]
    timezone: str | None


def _smtp_port_security(data: AccountInput, preset: Preset | None) -> tuple[int, Security]:
    sec_text = data.smtp_security or (preset.smtp_security if preset else None)
    port_value = (
        data.smtp_port if data.smtp_port is not None else (preset.smtp_port if preset else None)
    )
    if port_value is not None:
        number = account_rules.port(port_value, field="smtp_port")
        mode = (
            account_rules.security(sec_text, field="smtp_security")
            if sec_text
            else account_rules.PORT_SECURITY.get(number, Security.STARTTLS)
        )
        return number, mode
    mode = account_rules.security(sec_text or "starttls", field="smtp_security")
    return account_rules.DEFAULT_SMTP_PORT[mode], mode


def _imap(data: AccountInput, preset: Preset | None, *, force: bool) -> tuple[Any, ...]:
    host_text = data.imap_host if data.imap_host is not None else None
    if host_text is None and preset and (data.imap_port is not None or data.imap_security):
        host_text = preset.imap_host
    if host_text is None and preset and preset.imap_host and data.preset:
        host_text = preset.imap_host
    if not host_text:
        return None, None, None, None
    host = account_rules.host(host_text, field="imap_host")
    sec_text = data.imap_security or (preset.imap_security if preset else None)
    if data.imap_port or (preset and preset.imap_port):
        number = account_rules.port(
            data.imap_port or (preset.imap_port if preset else None), field="imap_port"
        )
        mode = (
            account_rules.security(sec_text, field="imap_security")
            if sec_text
            else account_rules.PORT_SECURITY.get(number, Security.SSL)
        )
    else:
        mode = account_rules.security(sec_text or "ssl", field="imap_security")
        number = account_rules.DEFAULT_IMAP_PORT[mode]
    account_rules.port_security(number, mode, host_name=host, field="imap_security", force=force)
    username = (data.imap_username or "").strip() or None
    return host, number, mode, username


def _limits(data: AccountInput) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, (low, high) in LIMIT_RANGES.items():
        value = account_rules.limit(getattr(data, name), field=name, minimum=low, maximum=high)
        if value is not None:
            out[name] = value
    return out


def resolve(data: AccountInput) -> AccountConfig:
    """Validate everything and fill defaults from the preset; the first fault raises."""
    address = account_rules.email(data.email)
    preset = get_preset(data.preset) if data.preset else None
    if preset and preset.is_custom:
        preset = None
    host = account_rules.host(
        data.smtp_host or (preset.smtp_host if preset else None), field="smtp_host"
    )
    number, mode = _smtp_port_security(data, preset)
    account_rules.port_security(
        number, mode, host_name=host, field="smtp_security", force=data.force
    )
    imap_host, imap_port, imap_security, imap_username = _imap(data, preset, force=data.force)
    matched = preset or match_preset(address.rsplit("@", 1)[1])
    return AccountConfig(
        email=address,
        display_name=account_rules.display_name(data.display_name),
        provider=matched.key if matched else "custom",
        smtp_host=host,
        smtp_port=number,
        smtp_security=mode,
        smtp_username=(data.username or "").strip() or address,
        imap_host=imap_host,
        imap_port=imap_port,
        imap_security=imap_security,
        imap_username=imap_username,
        smtp_ca_pem=account_rules.ca_pem(data.smtp_ca_pem, field="smtp_ca_pem"),
        imap_ca_pem=account_rules.ca_pem(data.imap_ca_pem, field="imap_ca_pem")
        if imap_host
        else None,
        smtp_auth=bool(data.smtp_auth),
        pin_sha256=account_rules.pin(data.pin_sha256),
        limits=_limits(data),
        timezone=account_rules.timezone(data.timezone),
    )
