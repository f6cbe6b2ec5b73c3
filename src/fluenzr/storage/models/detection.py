"""Reply detection: IMAP sync state, processed incoming mail, suppression, recipients, webhooks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fluenzr.storage.base import Base, utcnow


class ImapSyncState(Base):
    """Where the watcher is in one mailbox: UIDVALIDITY and the last UID fully processed."""

    __tablename__ = "imap_sync_state"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    mailbox: Mapped[str] = mapped_column(String(255), primary_key=True, default="INBOX")
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_sync_at: Mapped[datetime | None]
    resyncs: Mapped[int] = mapped_column(default=0)  # UIDVALIDITY changes seen
    last_error: Mapped[str | None] = mapped_column(Text)  # JSON error dict, no secrets
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IncomingMessage(Base):
    """An incoming message the watcher acted on (a bounce, or mail linked to what we sent).

    Unique on (account, mailbox, UIDVALIDITY, UID); the watcher also skips a Message-ID the
    account already recorded (indexed), so a resync after a UIDVALIDITY change never processes
    the same mail twice.
    """

    __tablename__ = "incoming_messages"
    __table_args__ = (
        UniqueConstraint(
            "account_id", "mailbox", "uidvalidity", "uid", name="uq_incoming_messages_uid"
        ),
        Index("ix_incoming_account_msgid", "account_id", "message_id"),
        Index("ix_incoming_thread_index", "workspace_id", "thread_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    mailbox: Mapped[str] = mapped_column(String(255), default="INBOX")
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998))
    # reply | auto_reply | bounce | complaint, or one of those + "_unmatched"
    kind: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))  # classifier evidence
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL"), index=True
    )
    match_rule: Mapped[str | None] = mapped_column(String(32))  # in_reply_to | references | …
    from_address: Mapped[str] = mapped_column(String(320), default="")
    recipient: Mapped[str | None] = mapped_column(String(320))  # our recipient it is about
    subject: Mapped[str] = mapped_column(Text, default="")
    permanent: Mapped[bool | None]
    event_id: Mapped[int | None]
    data: Mapped[str] = mapped_column(Text, default="{}")  # JSON classification details
    received_at: Mapped[datetime | None]
    intent: Mapped[str | None] = mapped_column(String(24))  # reply intent (detection.intents)
    intent_phrase: Mapped[str | None] = mapped_column(Text)  # the words that decided it
    referred: Mapped[str | None] = mapped_column(String(320))  # address a reply points to
    thread_index: Mapped[str | None] = mapped_column(String(64))  # Exchange thread root
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Suppression(Base):
    """Addresses the workspace never sends to again (hard bounce, unsubscribe, manual)."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("workspace_id", "email", name="uq_suppressions_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))  # lower-cased
    reason: Mapped[str] = mapped_column(String(32))  # bounce | unsubscribe | manual | complaint
    detail: Mapped[str | None] = mapped_column(Text)  # e.g. "5.1.1 User unknown"
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecipientState(Base):
    """What we know about a recipient from their mail: replied, auto-replied, bounced."""

    __tablename__ = "recipient_states"
    __table_args__ = (UniqueConstraint("workspace_id", "email", name="uq_recipient_states_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    replied_at: Mapped[datetime | None]
    reply_count: Mapped[int] = mapped_column(default=0)
    auto_replied_at: Mapped[datetime | None]
    away_until: Mapped[datetime | None]  # return date an auto-reply stated
    bounced_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Webhook(Base):
    """An HTTP endpoint that receives events, signed with HMAC-SHA256 (see docs/detection.md)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[str] = mapped_column(Text, default="*")  # comma-separated types, or "*"
    # Sealed with context f"webhook:{id}:secret"; only the worker opens it.
    secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(default=True)
    # Events with an id above this are still to be queued for this webhook (the cursor).
    last_event_id: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event to one webhook: attempts, next retry, outcome."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    response_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
