"""The outbox: messages waiting to be sent, their recipients, and each account's sending state.

The queue is a table with leases (``locked_by``/``locked_until``); limits are rows too
(:class:`SendingState`), so caps and spacing hold across processes and restarts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fluenzr.storage.base import Base, Timestamps
from fluenzr.storage.outbox_states import (
    CANCELLED,
    COPY_DONE,
    COPY_FAILED,
    COPY_NONE,
    COPY_PENDING,
    DEFERRED,
    FAILED,
    NEEDS_REVIEW,
    PENDING,
    QUEUED,
    SENDING,
    SENT,
    STATUSES,
)

# The state names live in storage.outbox_states (a Core-only writer imports no model); they stay
# importable from here, as every sending module does.
__all__ = [
    "CANCELLED",
    "COPY_DONE",
    "COPY_FAILED",
    "COPY_NONE",
    "COPY_PENDING",
    "DEFERRED",
    "FAILED",
    "NEEDS_REVIEW",
    "PENDING",
    "QUEUED",
    "SENDING",
    "SENT",
    "STATUSES",
    "OutboxMessage",
    "OutboxRecipient",
    "SendingState",
]


class OutboxMessage(Timestamps, Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("workspace_id", "message_id", name="uq_outbox_messages_workspace_msgid"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_account_status", "account_id", "status"),
        Index("ix_outbox_copy", "sent_copy", "copy_next_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(255))  # the header, without <>
    envelope_from: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    # The exact bytes sent and copied to Sent: built once, at enqueue.
    mime: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    reason: Mapped[str | None] = mapped_column(String(64))  # error code when deferred/failed
    detail: Mapped[str | None] = mapped_column(Text)  # server reply, verbatim, no secrets
    reply_code: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    sending_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    stop_on_reply: Mapped[bool] = mapped_column(default=False)
    sent_copy: Mapped[str] = mapped_column(String(8), default=COPY_NONE)
    copy_attempts: Mapped[int] = mapped_column(default=0)
    copy_next_at: Mapped[datetime | None]
    copy_error: Mapped[str | None] = mapped_column(Text)


class OutboxRecipient(Base):
    """One envelope recipient: a rejection at RCPT fails this recipient only."""

    __tablename__ = "outbox_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[str] = mapped_column(String(4), default="to")  # to | cc
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)  # queued|sent|failed
    reason: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    # Refused at RCPT with a permanent addressing status (5.1.x): a hard bounce, counted in
    # the account's bounce rate as a DSN would be (storage.hard_bounces).
    bounced: Mapped[bool | None]


class SendingState(Base):
    """Per-account counters and spacing. Workers lock this row to take a sending slot."""

    __tablename__ = "sending_state"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day_key: Mapped[str] = mapped_column(String(10), default="")  # YYYY-MM-DD, account tz
    day_count: Mapped[int] = mapped_column(default=0)
    hour_key: Mapped[str] = mapped_column(String(13), default="")  # YYYY-MM-DDTHH, account tz
    hour_count: Mapped[int] = mapped_column(default=0)
    next_send_at: Mapped[datetime | None]
    # When the pick should look at this account again: the time a refused claim said (a cap,
    # the window, spacing) or the next gap a claim reserved. Only a hint for the pick's order and
    # skip — the claim re-decides under the lock — and void once the account row changes after
    # ``wait_set_at`` (new limits, window, pause, credentials), so an edit never delays sending.
    wait_until: Mapped[datetime | None]
    wait_set_at: Mapped[datetime | None]  # wall clock, as ``accounts.updated_at``
    paused_at: Mapped[datetime | None]
    backoff_level: Mapped[int] = mapped_column(default=0)  # consecutive connection failures
    updated_at: Mapped[datetime | None]
