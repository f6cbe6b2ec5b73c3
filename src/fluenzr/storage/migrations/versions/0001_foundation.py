"""foundation: workspaces, accounts, events

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("smtp_host", sa.String(255), nullable=False),
        sa.Column("smtp_port", sa.Integer, nullable=False),
        sa.Column("smtp_security", sa.String(10), nullable=False),
        sa.Column("smtp_username", sa.String(320), nullable=False),
        sa.Column("smtp_password_sealed", sa.LargeBinary, nullable=False),
        sa.Column("imap_host", sa.String(255)),
        sa.Column("imap_port", sa.Integer),
        sa.Column("imap_security", sa.String(10)),
        sa.Column("imap_username", sa.String(320)),
        sa.Column("imap_password_sealed", sa.LargeBinary),
        sa.Column("ca_file", sa.Text),
        sa.Column("pin_sha256", sa.String(64)),
        sa.Column("daily_limit", sa.Integer, nullable=False),
        sa.Column("hourly_limit", sa.Integer, nullable=False),
        sa.Column("min_interval", sa.Integer, nullable=False),
        sa.Column("max_interval", sa.Integer, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("send_window", sa.Text),
        sa.Column("warmup_start", sa.Integer),
        sa.Column("warmup_increment", sa.Integer),
        sa.Column("warmup_started_on", TS),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(64)),
        sa.Column("paused_until", TS),
        sa.Column("last_error", sa.Text),
        sa.Column("last_test_at", TS),
        sa.Column("last_test_ok", sa.Boolean),
        sa.Column("last_test_result", sa.Text),
        sa.Column("credentials_changed_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("workspace_id", "email", name="uq_accounts_workspace_email"),
    )
    op.create_index("ix_accounts_workspace_id", "accounts", ["workspace_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="SET NULL")),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("message_id", sa.Integer),
        sa.Column("recipient", sa.String(320)),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_events_workspace_id", "events", ["workspace_id"])
    op.create_index("ix_events_account_id", "events", ["account_id"])
    op.create_index("ix_events_type", "events", ["type"])
    op.create_index("ix_events_message_id", "events", ["message_id"])
    op.create_index("ix_events_workspace_created", "events", ["workspace_id", "created_at"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("accounts")
    op.drop_table("workspaces")
