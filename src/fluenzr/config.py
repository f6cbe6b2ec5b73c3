"""One typed settings object, built by the entry point and passed in — never at import time.

Sources, strongest first: explicit overrides (CLI options), ``FLUENZR_*`` environment variables,
the config file (``$FLUENZR_CONFIG`` or ``<home>/config.toml``), defaults.

The fields are declared as pydantic-settings declared them (``setting`` for ``Field``) and parsed
by :mod:`fluenzr.core.settings_fields`: every command reads the settings, and pydantic-settings
cost as much start-up as SQLAlchemy (docs/cli.md).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import platformdirs

from fluenzr.core.settings_fields import SettingError, SettingsModel, setting
from fluenzr.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import SecretStr

Role = Literal["all", "web", "worker"]
ENV_PREFIX = "FLUENZR_"


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("fluenzr", appauthor=False))


def _lang(value: str) -> str:
    # Lazy: fluenzr.i18n loads Babel, which only rendering a message needs (start-up time).
    from fluenzr.i18n import normalise_language

    lang = normalise_language(value)
    if lang is None:
        raise ValueError("must be one of es, en, fr")
    return lang


def _dns_servers(value: object) -> str:
    # Lazy: the parser lives with the resolver (fluenzr.core has no dnspython).
    from fluenzr.core.nameservers import parse_nameservers

    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    if not isinstance(value, str):
        raise ValueError("must be a list of host[:port]")
    pairs = parse_nameservers(value)
    return ",".join(f"{h}:{p}" if ":" not in h else f"[{h}]:{p}" for h, p in pairs)


def _dnsbl_zones(value: object) -> str:
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    if not isinstance(value, str):
        raise ValueError("must be a list of DNS zone names")
    zones = [z.strip().lower().rstrip(".") for z in value.split(",") if z.strip()]
    for zone in zones:
        labels = zone.split(".")
        if (
            len(zone) > 253
            or len(labels) < 2
            or not all(
                0 < len(label) <= 63 and label.replace("-", "").isalnum() for label in labels
            )
        ):
            raise ValueError(f"{zone[:80]!r} is not a DNS zone name")
    return ",".join(zones)


def _url(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not value.startswith(("sqlite", "postgresql")):
        raise ValueError("must start with sqlite:// or postgresql+psycopg://")
    return value


def _level(value: str) -> str:
    level = value.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def _metrics_token(value: SecretStr | None) -> SecretStr | None:
    if value is not None and len(value.get_secret_value()) < 16:
        raise ValueError("String should have at least 16 characters")
    return value


class Settings(SettingsModel):
    """Every setting: ``Settings(**values)`` also reads ``FLUENZR_<NAME>`` (any case) for the
    fields not given, as a pydantic-settings ``BaseSettings`` did; unknown names are refused."""

    home: Path = setting(default_factory=default_home, description="Data folder (keys, database).")
    database_url: str | None = setting(
        default=None,
        description="SQLAlchemy URL; default: SQLite file fluenzr.db in the home. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    lang: str = setting(default="es", description="Language of messages: es, en or fr.")
    vault_public_key: str | None = setting(
        default=None, description="Base64 X25519 public key; overrides the key file."
    )
    vault_private_keys: str | None = setting(
        default=None,
        description="Comma-separated base64 X25519 private keys (the sending system only).",
    )
    vault_read_only: bool = setting(
        default=False,
        description="Never load private keys (the web role): credentials can be sealed, not read.",
    )
    smtp_timeout: float = setting(
        default=10.0, gt=0, le=300, description="Seconds for connect and for each server reply."
    )
    imap_timeout: float = setting(default=10.0, gt=0, le=300, description="Seconds per IMAP step.")
    probe_timeout: float = setting(
        default=3.0, gt=0, le=60, description="Seconds per probe of an alternative port."
    )
    test_mail_wait: float = setting(
        default=20.0, gt=0, le=600, description="Seconds Probar waits for the test mail in INBOX."
    )
    http_host: str = setting(default="127.0.0.1", description="Address `fluenzr serve` binds.")
    http_port: int = setting(
        default=8000, ge=1, le=65535, description="Port `fluenzr serve` binds."
    )
    secure_cookies: bool = setting(
        default=False, description="Mark session cookies Secure (set true behind HTTPS)."
    )
    log_level: str = setting(default="INFO", description="Python logging level.")
    log_format: Literal["text", "json"] = setting(
        default="text",
        description="Log lines as text, or json: one JSON object per line (docs/observability.md).",
    )
    metrics_token: SecretStr | None = setting(
        default=None,
        description="Bearer token that opens /metrics (Prometheus); unset: /metrics is 404.",
    )
    max_body_bytes: int = setting(
        default=1_048_576,
        ge=1024,
        le=1_073_741_824,
        description="Largest request body (forms, JSON) in bytes; more gets 413 unread.",
    )
    max_outbox_body_bytes: int = setting(
        default=16_777_216,
        ge=1024,
        le=1_073_741_824,
        description="Largest body of POST /api/v1/outbox (a message to send) in bytes.",
    )
    # Reply detection (None keeps the default in fluenzr.detection.config).
    detect_poll_interval: float | None = setting(
        default=None, gt=0, description="Seconds between INBOX checks when IDLE is not offered."
    )
    detect_bounce_rate_threshold: float | None = setting(
        default=None, ge=0, le=1, description="Bounce rate that pauses an account (default 0.05)."
    )
    detect_bounce_rate_window: int | None = setting(
        default=None, ge=1, description="Last N sends the bounce rate is measured over (100)."
    )
    detect_bounce_rate_min_sends: int | None = setting(
        default=None, ge=1, description="No bounce-rate pause on fewer sends than this (20)."
    )
    detect_match_window_days: int | None = setting(
        default=None, ge=1, description="Days a subject+sender fallback match looks back (30)."
    )
    detect_initial_sync_concurrency: int | None = setting(
        default=None, ge=1, description="Mailboxes doing their first sync at once (20)."
    )
    # Limits on hostile incoming mail (docs/security.md, "Hostile incoming mail").
    detect_body_limit: int | None = setting(
        default=None, ge=4096, description="Bytes of a relevant message fetched (262144)."
    )
    detect_max_message_bytes: int | None = setting(
        default=None, ge=4096, description="Larger messages are unparseable (20000000)."
    )
    detect_max_header_bytes: int | None = setting(
        default=None, ge=1024, description="Largest header block read (131072)."
    )
    detect_max_headers: int | None = setting(
        default=None, ge=10, description="Most header fields in a message (1000)."
    )
    detect_max_header_length: int | None = setting(
        default=None, ge=998, description="Longest unfolded header field (65536)."
    )
    detect_max_mime_parts: int | None = setting(
        default=None, ge=1, description="Most MIME parts in a message (500)."
    )
    detect_max_mime_depth: int | None = setting(
        default=None, ge=1, le=200, description="Most nested multipart containers (50)."
    )
    detect_classify_timeout: float | None = setting(
        default=None, gt=0, description="Seconds one message may take to classify (20)."
    )
    detect_classify_workers: int | None = setting(
        default=None, ge=1, description="Threads classifying incoming mail at once (2)."
    )
    detect_complaint_rate_threshold: float | None = setting(
        default=None,
        ge=0,
        le=1,
        description="Spam-complaint rate that pauses an account (default 0.001, i.e. 0.1%).",
    )
    detect_complaint_rate_window: int | None = setting(
        default=None, ge=1, description="Last N sends the complaint rate is measured over (1000)."
    )
    detect_lease_ttl: float | None = setting(
        default=None,
        gt=0,
        le=3600,
        description="Seconds an IMAP mailbox lease lives without renewal: a killed worker's "
        "mailboxes are taken over after this (default 60; heartbeats every quarter of it).",
    )
    detect_connect_per_host: int | None = setting(
        default=None, ge=1, description="IMAP connections set up at once to one server host (10)."
    )
    detect_connect_stagger: float | None = setting(
        default=None,
        ge=0,
        description="Seconds between two IMAP connection starts to one host (default 0.05).",
    )
    detect_away_defers_followups: bool | None = setting(
        default=None,
        description="Hold queued stop-on-reply follow-ups to a recipient whose auto-reply "
        "gave a return date until the day after it (default false).",
    )

    egress_policy: Literal["single_user", "multi_tenant"] = setting(
        default="single_user",
        description="single_user: loopback and private addresses reachable (a Bridge on "
        "127.0.0.1); multi_tenant: connections a tenant aims (SMTP, IMAP, Probar, autoconfig, "
        "webhooks) may only reach public addresses.",
    )
    probar_rate_limit: int = setting(
        default=10, ge=1, le=10_000, description="Probar runs a workspace may start per minute."
    )
    probar_per_host_concurrency: int = setting(
        default=3,
        ge=1,
        le=100,
        description="Bulk Probar: at most this many accounts tested at once per server host "
        "(SMTP or IMAP host name), so one provider never sees more parallel connections from us.",
    )
    bulk_probar_concurrency: int = setting(
        default=10, ge=1, le=200, description="Bulk Probar: accounts tested at once in total."
    )
    bulk_probar_max_accounts: int = setting(
        default=2000, ge=1, le=100_000, description="Bulk Probar: most accounts in one run."
    )

    dns_servers: str = setting(
        default="",
        description="DNS servers for autodetect, Probar and the domain checks: comma-separated "
        "host[:port] (IPv6 as [addr]:port); empty = the system's resolver.",
    )
    deliverability_recheck_hours: float = setting(
        default=24.0,
        ge=0,
        le=24 * 365,
        description="Hours between re-checks of each sending domain (SPF, DMARC, MX) by the "
        "sending system; 0 turns the periodic re-check off.",
    )
    dnsbl_zones: str = setting(
        default="",
        description="DNS blocklist zones to check the sending IP against (comma-separated, e.g. "
        "zen.spamhaus.org); empty = off. Needs a resolver the list answers (not a public one).",
    )

    # -- OAuth 2.0 (docs/oauth.md): the app registered with each provider -------------------
    oauth_google_client_id: str | None = setting(
        default=None, description="Google OAuth client id (Google Cloud console)."
    )
    oauth_google_client_secret: SecretStr | None = setting(
        default=None, description="Google OAuth client secret (a secret: never shown)."
    )
    oauth_microsoft_client_id: str | None = setting(
        default=None, description="Microsoft Entra application (client) id."
    )
    oauth_microsoft_client_secret: SecretStr | None = setting(
        default=None, description="Microsoft Entra client secret (a secret: never shown)."
    )
    oauth_microsoft_tenant: str = setting(
        default="common",
        pattern=r"^[A-Za-z0-9.-]{1,100}$",
        description="Entra tenant in the endpoints: common, organizations, or a tenant id.",
    )
    oauth_google_authorization_endpoint: str | None = setting(
        default=None, description="Override Google's authorization endpoint (any RFC 6749 AS)."
    )
    oauth_google_token_endpoint: str | None = setting(
        default=None, description="Override Google's token endpoint."
    )
    oauth_microsoft_authorization_endpoint: str | None = setting(
        default=None, description="Override Microsoft's authorization endpoint."
    )
    oauth_microsoft_token_endpoint: str | None = setting(
        default=None, description="Override Microsoft's token endpoint."
    )
    oauth_google_smtp: str | None = setting(
        default=None, description="Override Google's SMTP server as host:port:security."
    )
    oauth_google_imap: str | None = setting(
        default=None, description="Override Google's IMAP server as host:port:security."
    )
    oauth_microsoft_smtp: str | None = setting(
        default=None, description="Override Microsoft's SMTP server as host:port:security."
    )
    oauth_microsoft_imap: str | None = setting(
        default=None, description="Override Microsoft's IMAP server as host:port:security."
    )
    oauth_ca_pem_file: Path | None = setting(
        default=None,
        description="Extra CA (PEM file on this machine) trusted for the providers' mail servers.",
    )
    oauth_refresh_margin: float = setting(
        default=300.0,
        ge=0,
        le=3000,
        description="Refresh an access token this many seconds before it expires.",
    )
    oauth_keepalive_hours: float = setting(
        default=24.0, gt=0, le=720, description="Refresh idle accounts' tokens at least this often."
    )
    oauth_timeout: float = setting(
        default=10.0, gt=0, le=120, description="Seconds for each token endpoint request."
    )
    public_url: str | None = setting(
        default=None,
        description="Public base URL of the web UI (the OAuth redirect URI is built from it); "
        "default http://<http_host>:<http_port>.",
    )

    # The field validators (pydantic's mode="before" ones, then the plain ones).
    before: ClassVar[Mapping[str, Callable[[Any], Any]]] = {
        "dns_servers": _dns_servers,
        "dnsbl_zones": _dnsbl_zones,
    }
    after: ClassVar[Mapping[str, Callable[[Any], Any]]] = {
        "lang": _lang,
        "database_url": _url,
        "log_level": _level,
        "metrics_token": _metrics_token,
    }

    def __init__(self, **values: Any) -> None:
        env = {
            k[len(ENV_PREFIX) :].lower(): v
            for k, v in os.environ.items()
            if k.upper().startswith(ENV_PREFIX)
        }
        super().__init__(**{**{k: v for k, v in env.items() if k in self.fields}, **values})

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'fluenzr.db'}"

    @property
    def nameservers(self) -> list[tuple[str, int]]:
        """``dns_servers`` as (address, port) pairs; [] means the system's resolver."""
        from fluenzr.core.nameservers import parse_nameservers

        return parse_nameservers(self.dns_servers)

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
        raise ConfigError(params={"setting": str(path), "problem": str(exc)}) from exc
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
    except SettingError as exc:
        name = exc.field
        source = f"FLUENZR_{name.upper()}" if name in env_keys else name
        # from None: the cause could repeat the input value, which may be a secret.
        raise ConfigError(params={"setting": source, "problem": exc.problem}) from None
