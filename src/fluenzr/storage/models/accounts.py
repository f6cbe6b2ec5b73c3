"""Workspaces and email accounts (mailboxes connected over SMTP, optionally IMAP)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from fluenzr.storage.base import Base, Timestamps, utcnow


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Account(Timestamps, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("workspace_id", "email", name="uq_accounts_workspace_email"),
        # The fleet-size table's filters (migration 0017).
        Index("ix_accounts_workspace_status", "workspace_id", "status"),
        Index("ix_accounts_workspace_provider", "workspace_id", "provider"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    provider: Mapped[str] = mapped_column(String(40), default="custom")

    smtp_host: Mapped[str] = mapped_column(String(255))
    smtp_port: Mapped[int]
    smtp_security: Mapped[str] = mapped_column(String(10))
    smtp_username: Mapped[str] = mapped_column(String(320))
    smtp_password_sealed: Mapped[bytes] = mapped_column(LargeBinary)

    imap_host: Mapped[str | None] = mapped_column(String(255))
    imap_port: Mapped[int | None]
    imap_security: Mapped[str | None] = mapped_column(String(10))
    imap_username: Mapped[str | None] = mapped_column(String(320))
    # None: IMAP uses the SMTP password.
    imap_password_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)

    # Extra trusted CA certificates as PEM text (validated X.509, at most 64 KB) — never a
    # server path.
    smtp_ca_pem: Mapped[str | None] = mapped_column(Text)
    imap_ca_pem: Mapped[str | None] = mapped_column(Text)
    pin_sha256: Mapped[str | None] = mapped_column(String(64))
    # False only when the user explicitly chose "no authentication" for SMTP (a local relay).
    smtp_auth: Mapped[bool] = mapped_column(default=True, server_default=true())

    daily_limit: Mapped[int] = mapped_column(default=50)
    hourly_limit: Mapped[int] = mapped_column(default=10)
    min_interval: Mapped[int] = mapped_column(default=60)
    max_interval: Mapped[int] = mapped_column(default=180)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # JSON: {"days": [0..6], "start": "09:00", "end": "18:00"}; None = any time.
    send_window: Mapped[str | None] = mapped_column(Text)
    warmup_start: Mapped[int | None]
    warmup_increment: Mapped[int | None]
    warmup_started_on: Mapped[datetime | None]

    status: Mapped[str] = mapped_column(String(16), default="active")  # active | paused | error
    status_reason: Mapped[str | None] = mapped_column(String(64))
    paused_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)  # JSON error dict, no secrets

    last_test_at: Mapped[datetime | None]
    last_test_ok: Mapped[bool | None]
    last_test_result: Mapped[str | None] = mapped_column(Text)  # JSON report, no secrets
    credentials_changed_at: Mapped[datetime | None]

    # "password" or "oauth". OAuth: ``provider`` is the OAuth provider (google, microsoft),
    # ``smtp_password_sealed`` the sealed refresh token, the access token sealed below.
    auth_method: Mapped[str] = mapped_column(
        String(16), default="password", server_default="password"
    )
    oauth_token_endpoint: Mapped[str | None] = mapped_column(String(500))
    oauth_access_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    oauth_access_expires_at: Mapped[datetime | None]
    oauth_scope: Mapped[str | None] = mapped_column(Text)
    oauth_refreshed_at: Mapped[datetime | None]

    @property
    def is_oauth(self) -> bool:
        return self.auth_method == "oauth"


class OAuthFlow(Base):
    """A connect flow in progress: ``state`` (stored as its SHA-256) bound to the browser
    session that started it, single use, expiring; the PKCE verifier never leaves the server."""

    __tablename__ = "oauth_flows"

    state_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_sha256: Mapped[str] = mapped_column(String(64))
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    user_id: Mapped[int]
    provider: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    account_id: Mapped[int | None]
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(index=True)
