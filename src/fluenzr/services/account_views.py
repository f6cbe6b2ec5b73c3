"""What the outside world sees of an account: never a secret, at most ``password_set``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from fluenzr.storage.base import aware
from fluenzr.storage.models import Account


class AccountView(BaseModel):
    id: int
    workspace_id: int
    email: str
    display_name: str
    provider: str
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_username: str
    password_set: bool
    imap_host: str | None
    imap_port: int | None
    imap_security: str | None
    imap_username: str | None
    imap_password_set: bool
    smtp_ca_pem: str | None
    imap_ca_pem: str | None
    pin_sha256: str | None
    smtp_auth: bool
    auth_method: str = "password"  # "oauth": connected with Google / Microsoft (no password)
    daily_limit: int
    hourly_limit: int
    min_interval: int
    max_interval: int
    timezone: str
    send_window: dict[str, Any] | None
    warmup_start: int | None
    warmup_increment: int | None
    status: str
    status_reason: str | None
    paused_until: datetime | None
    last_error: dict[str, Any] | None
    last_test_at: datetime | None
    last_test_ok: bool | None
    created_at: datetime
    updated_at: datetime


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def to_view(account: Account) -> AccountView:
    return AccountView(
        id=account.id,
        workspace_id=account.workspace_id,
        email=account.email,
        display_name=account.display_name,
        provider=account.provider,
        smtp_host=account.smtp_host,
        smtp_port=account.smtp_port,
        smtp_security=account.smtp_security,
        smtp_username=account.smtp_username,
        password_set=bool(account.smtp_password_sealed),
        imap_host=account.imap_host,
        imap_port=account.imap_port,
        imap_security=account.imap_security,
        imap_username=account.imap_username,
        imap_password_set=bool(account.imap_password_sealed or account.imap_host),
        smtp_ca_pem=account.smtp_ca_pem,
        imap_ca_pem=account.imap_ca_pem,
        pin_sha256=account.pin_sha256,
        smtp_auth=account.smtp_auth,
        auth_method=account.auth_method or "password",
        daily_limit=account.daily_limit,
        hourly_limit=account.hourly_limit,
        min_interval=account.min_interval,
        max_interval=account.max_interval,
        timezone=account.timezone,
        send_window=_json(account.send_window),
        warmup_start=account.warmup_start,
        warmup_increment=account.warmup_increment,
        status=account.status,
        status_reason=account.status_reason,
        paused_until=aware(account.paused_until),
        last_error=_json(account.last_error),
        last_test_at=aware(account.last_test_at),
        last_test_ok=account.last_test_ok,
        created_at=aware(account.created_at) or account.created_at,
        updated_at=aware(account.updated_at) or account.updated_at,
    )
