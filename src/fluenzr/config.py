"""One typed settings object, built by the entry point and passed in — never at import time.

Sources, strongest first: explicit overrides (CLI options), ``FLUENZR_*`` environment variables,
the config file (``$FLUENZR_CONFIG`` or ``<home>/config.toml``), defaults.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fluenzr.errors import ConfigError

Role = Literal["all", "web", "worker"]


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("fluenzr", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLUENZR_", extra="forbid", frozen=True)

    home: Path = Field(default_factory=default_home, description="Data folder (keys, database).")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file fluenzr.db in the home. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    lang: str = Field(default="es", description="Language of messages: es, en or fr.")
    vault_public_key: str | None = Field(
        default=None, description="Base64 X25519 public key; overrides the key file."
    )
    vault_private_keys: str | None = Field(
        default=None,
        description="Comma-separated base64 X25519 private keys (the sending system only).",
    )
    vault_read_only: bool = Field(
        default=False,
        description="Never load private keys (the web role): credentials can be sealed, not read.",
    )
    smtp_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds for connect and for each server reply."
    )
    imap_timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds per IMAP step.")
    probe_timeout: float = Field(
        default=3.0, gt=0, le=60, description="Seconds per probe of an alternative port."
    )
    test_mail_wait: float = Field(
        default=20.0, gt=0, le=600, description="Seconds Probar waits for the test mail in INBOX."
    )
    http_host: str = Field(default="127.0.0.1", description="Address `fluenzr serve` binds.")
    http_port: int = Field(default=8000, ge=1, le=65535, description="Port `fluenzr serve` binds.")
    secure_cookies: bool = Field(
        default=False, description="Mark session cookies Secure (set true behind HTTPS)."
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=1_073_741_824,
        description="Largest request body (forms, JSON) in bytes; more gets 413 unread.",
    )
    max_outbox_body_bytes: int = Field(
        default=16_777_216,
        ge=1024,
        le=1_073_741_824,
        description="Largest body of POST /api/v1/outbox (a message to send) in bytes.",
    )
    # Reply detection (None keeps the default in fluenzr.detection.config).
    detect_poll_interval: float | None = Field(
        default=None, gt=0, description="Seconds between INBOX checks when IDLE is not offered."
    )
    detect_bounce_rate_threshold: float | None = Field(
        default=None, ge=0, le=1, description="Bounce rate that pauses an account (default 0.05)."
    )
    detect_bounce_rate_window: int | None = Field(
        default=None, ge=1, description="Last N sends the bounce rate is measured over (100)."
    )
    detect_bounce_rate_min_sends: int | None = Field(
        default=None, ge=1, description="No bounce-rate pause on fewer sends than this (20)."
    )
    detect_match_window_days: int | None = Field(
        default=None, ge=1, description="Days a subject+sender fallback match looks back (30)."
    )
    detect_initial_sync_concurrency: int | None = Field(
        default=None, ge=1, description="Mailboxes doing their first sync at once (20)."
    )
    # Limits on hostile incoming mail (docs/security.md, "Hostile incoming mail").
    detect_body_limit: int | None = Field(
        default=None, ge=4096, description="Bytes of a relevant message fetched (262144)."
    )
    detect_max_message_bytes: int | None = Field(
        default=None, ge=4096, description="Larger messages are unparseable (20000000)."
    )
    detect_max_header_bytes: int | None = Field(
        default=None, ge=1024, description="Largest header block read (131072)."
    )
    detect_max_headers: int | None = Field(
        default=None, ge=10, description="Most header fields in a message (1000)."
    )
    detect_max_header_length: int | None = Field(
        default=None, ge=998, description="Longest unfolded header field (65536)."
    )
    detect_max_mime_parts: int | None = Field(
        default=None, ge=1, description="Most MIME parts in a message (500)."
    )
    detect_max_mime_depth: int | None = Field(
        default=None, ge=1, le=200, description="Most nested multipart containers (50)."
    )
    detect_classify_timeout: float | None = Field(
        default=None, gt=0, description="Seconds one message may take to classify (20)."
    )
    detect_classify_workers: int | None = Field(
        default=None, ge=1, description="Threads classifying incoming mail at once (2)."
    )

    egress_policy: Literal["single_user", "multi_tenant"] = Field(
        default="single_user",
        description="single_user: loopback and private addresses reachable (a Bridge on "
        "127.0.0.1); multi_tenant: connections a tenant aims (SMTP, IMAP, Probar, autoconfig, "
        "webhooks) may only reach public addresses.",
    )
    probar_rate_limit: int = Field(
        default=10, ge=1, le=10_000, description="Probar runs a workspace may start per minute."
    )

    @field_validator("lang")
    @classmethod
    def _lang(cls, value: str) -> str:
        # Lazy: fluenzr.i18n loads Babel, which only rendering a message needs (start-up time).
        from fluenzr.i18n import normalise_language

        lang = normalise_language(value)
        if lang is None:
            raise ValueError("must be one of es, en, fr")
        return lang

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'fluenzr.db'}"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"


def _config_file(overrides: dict[str, Any]) -> Path:
    explicit = os.environ.get("FLUENZR_CONFIG")
    if explicit:
        return Path(explicit)
    home = overrides.get("home") or os.environ.get("FLUENZR_HOME") or default_home()
    return Path(home) / "config.toml"


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        if os.environ.get("FLUENZR_CONFIG"):
            raise ConfigError(params={"setting": "FLUENZR_CONFIG", "problem": f"{path}: not found"})
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(params={"setting": str(path), "problem": str(exc)}) from None
    section = data.get("fluenzr", data)
    if not isinstance(section, dict):
        raise ConfigError(params={"setting": str(path), "problem": "[fluenzr] must be a table"})
    return section


def load_settings(**overrides: Any) -> Settings:
    """Build settings from overrides, environment and config file; bad values → ConfigError."""
    given = {k: v for k, v in overrides.items() if v is not None}
    file_values = _read_config_file(_config_file(given))
    env_keys = {k[len("FLUENZR_") :].lower() for k in os.environ if k.startswith("FLUENZR_")}
    merged = {k: v for k, v in file_values.items() if k not in env_keys}
    merged.update(given)
    try:
        return Settings(**merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "config"
        source = f"FLUENZR_{name.upper()}" if name in env_keys else name
        raise ConfigError(params={"setting": source, "problem": first["msg"]}) from None
