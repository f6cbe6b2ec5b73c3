"""Fleet-size state: tags on accounts, which worker is alive, and which worker watches which
IMAP mailbox (ownership leases, so N workers never open N connections to one mailbox)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fluenzr.storage.base import Base, utcnow


class AccountTag(Base):
    """One tag on one account; tags are lower-cased, trimmed words chosen by the user."""

    __tablename__ = "account_tags"
    __table_args__ = (Index("ix_account_tags_tag", "tag", "account_id"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerHeartbeat(Base):
    """A running sending/detection process: written at start, refreshed while alive."""

    __tablename__ = "worker_heartbeats"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # hostname:pid:random
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    roles: Mapped[str] = mapped_column(String(100), default="")  # comma-separated
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    stopped_at: Mapped[datetime | None]  # a clean shutdown; a killed worker just goes stale


class MailboxLease(Base):
    """The one worker that watches an account's IMAP mailbox until ``expires_at``."""

    __tablename__ = "mailbox_leases"
    __table_args__ = (Index("ix_mailbox_leases_owner", "owner"),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[str | None] = mapped_column(String(100))  # WorkerHeartbeat.id; None: released
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    takeovers: Mapped[int] = mapped_column(default=0)  # taken from an owner whose lease expired
