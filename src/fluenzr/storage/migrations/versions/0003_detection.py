"""detection: IMAP state, suppression, webhooks (owned by reply detection)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _account_fk(ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey("accounts.id", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "imap_sync_state",
        sa.Column("account_id", sa.Integer, _account_fk("CASCADE"), primary_key=True),
        sa.Column("mailbox", sa.String(255), primary_key=True),
        sa.Column("uidvalidity", sa.BigInteger),
        sa.Column("last_uid", sa.BigInteger, nullable=False),
        sa.Column("last_sync_at", TS),
        sa.Column("resyncs", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "incoming_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("account_id", sa.Integer, _account_fk("CASCADE"), nullable=False),
        sa.Column("mailbox", sa.String(255), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("uid", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.String(998)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column(
            "outbox_id", sa.Integer, sa.ForeignKey("outbox_messages.id", ondelete="SET NULL")
        ),
        sa.Column("match_rule", sa.String(32)),
        sa.Column("from_address", sa.String(320), nullable=False),
        sa.Column("recipient", sa.String(320)),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("permanent", sa.Boolean),
        sa.Column("event_id", sa.Integer),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("received_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint(
            "account_id", "mailbox", "uidvalidity", "uid", name="uq_incoming_messages_uid"
        ),
    )
    op.create_index("ix_incoming_messages_workspace_id", "incoming_messages", ["workspace_id"])
    op.create_index("ix_incoming_messages_outbox_id", "incoming_messages", ["outbox_id"])
    op.create_index("ix_incoming_account_msgid", "incoming_messages", ["account_id", "message_id"])
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("account_id", sa.Integer, _account_fk("SET NULL")),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("workspace_id", "email", name="uq_suppressions_email"),
    )
    op.create_index("ix_suppressions_workspace_id", "suppressions", ["workspace_id"])
    op.create_table(
        "recipient_states",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("replied_at", TS),
        sa.Column("reply_count", sa.Integer, nullable=False),
        sa.Column("auto_replied_at", TS),
        sa.Column("away_until", TS),
        sa.Column("bounced_at", TS),
        sa.Column("unsubscribed_at", TS),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("workspace_id", "email", name="uq_recipient_states_email"),
    )
    op.create_index("ix_recipient_states_workspace_id", "recipient_states", ["workspace_id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("last_event_id", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_webhooks_workspace_id", "webhooks", ["workspace_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "webhook_id",
            sa.Integer,
            sa.ForeignKey("webhooks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "event_id", sa.Integer, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS),
        sa.Column("last_attempt_at", TS),
        sa.Column("response_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_event"),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.drop_table("recipient_states")
    op.drop_table("suppressions")
    op.drop_table("incoming_messages")
    op.drop_table("imap_sync_state")
