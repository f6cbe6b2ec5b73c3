"""What the user marked in FluenzR itself: replies read/handled, notifications seen, and how the
workspace's owners want to be told by email. Never the mailbox's IMAP flags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from fluenzr.storage.base import Base, utcnow


class ReplyMark(Base):
    """One detected reply (its ``reply`` / ``auto_reply`` event) as the user marked it."""

    __tablename__ = "reply_marks"
    __table_args__ = (Index("ix_reply_marks_workspace", "workspace_id", "event_id"),)

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    read_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    marked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationRead(Base):
    """How far one user has read a workspace's notifications (an event id cursor)."""

    __tablename__ = "notification_reads"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_id: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationSettings(Base):
    """Email notifications of a workspace: sent to its owners through the account chosen here."""

    __tablename__ = "notification_settings"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    email_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    # Notification events up to this id have been mailed (or were before email was turned on).
    emailed_up_to: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
