"""sending: outbox, sending state (owned by the sending engine)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("envelope_from", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("in_reply_to", sa.String(998)),
        sa.Column("mime", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("detail", sa.Text),
        sa.Column("reply_code", sa.Integer),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("not_before", TS),
        sa.Column("next_attempt_at", TS),
        sa.Column("locked_by", sa.String(64)),
        sa.Column("locked_until", TS),
        sa.Column("sending_at", TS),
        sa.Column("sent_at", TS),
        sa.Column("stop_on_reply", sa.Boolean, nullable=False),
        sa.Column("sent_copy", sa.String(8), nullable=False),
        sa.Column("copy_attempts", sa.Integer, nullable=False),
        sa.Column("copy_next_at", TS),
        sa.Column("copy_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint(
            "workspace_id", "message_id", name="uq_outbox_messages_workspace_msgid"
        ),
    )
    op.create_index("ix_outbox_due", "outbox_messages", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_account_status", "outbox_messages", ["account_id", "status"])
    op.create_index("ix_outbox_copy", "outbox_messages", ["sent_copy", "copy_next_at"])
    op.create_table(
        "outbox_recipients",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "outbox_id",
            sa.Integer,
            sa.ForeignKey("outbox_messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_outbox_recipients_outbox_id", "outbox_recipients", ["outbox_id"])
    op.create_index("ix_outbox_recipients_email", "outbox_recipients", ["email"])
    op.create_table(
        "sending_state",
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day_key", sa.String(10), nullable=False),
        sa.Column("day_count", sa.Integer, nullable=False),
        sa.Column("hour_key", sa.String(13), nullable=False),
        sa.Column("hour_count", sa.Integer, nullable=False),
        sa.Column("next_send_at", TS),
        sa.Column("paused_at", TS),
        sa.Column("backoff_level", sa.Integer, nullable=False),
        sa.Column("updated_at", TS),
    )


def downgrade() -> None:
    op.drop_table("sending_state")
    op.drop_table("outbox_recipients")
    op.drop_table("outbox_messages")
