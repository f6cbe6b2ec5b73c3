"""Request bodies of the REST API. Responses are the services' views (no secret in any)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from fluenzr.core.secret import Secret

MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
DateQuery = Annotated[
    str | None, Query(max_length=40, description="ISO 8601 date (inclusive) or date-time")
]
Host = Annotated[str, Field(max_length=255)]
Port = Annotated[int, Field(ge=1, le=65535)]
Security = Annotated[str, Field(max_length=10, description="tls (starttls), ssl or none")]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Password = Annotated[
    SecretStr, Field(max_length=1024, json_schema_extra={"writeOnly": True, "format": "password"})
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountFields(_Body):
    display_name: Annotated[str, Field(max_length=200)] | None = None
    preset: Annotated[str, Field(max_length=40)] | None = None
    smtp_host: Host | None = None
    smtp_port: Port | None = None
    smtp_security: Security | None = None
    username: Annotated[str, Field(max_length=320)] | None = None
    password: Password | None = None
    imap_host: Host | None = None
    imap_port: Port | None = None
    imap_security: Security | None = None
    imap_username: Annotated[str, Field(max_length=320)] | None = None
    imap_password: Password | None = None
    # PEM text (never a server path); validated as X.509 by the accounts service.
    smtp_ca_pem: Annotated[str, Field(max_length=70_000)] | None = None
    imap_ca_pem: Annotated[str, Field(max_length=70_000)] | None = None
    smtp_auth: bool | None = Field(
        default=None, description="false: send without AUTH (a local relay; single-user only)."
    )
    pin_sha256: Annotated[str, Field(max_length=128)] | None = None
    daily_limit: Count | None = None
    hourly_limit: Count | None = None
    min_interval: Count | None = None
    max_interval: Count | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    force: bool = Field(default=False, description="Accept an unusual port/security pair.")

    def changes(self) -> dict[str, Any]:
        """Given fields as service arguments; passwords become ``Secret``."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if value is None:
                continue
            out[name] = Secret(value.get_secret_value()) if isinstance(value, SecretStr) else value
        return out


class AccountCreate(AccountFields):
    email: Annotated[str, Field(min_length=1, max_length=320)]


class AccountUpdate(AccountFields):
    email: Annotated[str, Field(min_length=1, max_length=320)] | None = None


class ProbarRequest(_Body):
    send_test_mail: bool = Field(
        default=True, description="Send a test email to the account's own address."
    )


class AutodetectRequest(_Body):
    email: Annotated[str, Field(min_length=1, max_length=320)]


class TokenCreate(_Body):
    name: Annotated[str, Field(min_length=1, max_length=100)]


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str = Field(description="Shown once: store it now, it cannot be read again.")
