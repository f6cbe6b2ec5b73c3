"""Events: what happened to an account or a message (sent, reply, bounce, paused…)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fluenzr.storage.base import Base, utcnow


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_workspace_created", "workspace_id", "created_at"),
        # Per-account counts for one page of the accounts table (migration 0017).
        Index("ix_events_account_type_created", "account_id", "type", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    type: Mapped[str] = mapped_column(String(32), index=True)
    # Outbox row this event is about, when any (no FK: the outbox belongs to the sending area).
    message_id: Mapped[int | None] = mapped_column(index=True)
    recipient: Mapped[str | None] = mapped_column(String(320))
    data: Mapped[str] = mapped_column(Text, default="{}")  # JSON, never secrets
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
