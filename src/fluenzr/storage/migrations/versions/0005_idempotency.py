"""idempotency: keys of POST /api/v1/outbox and `fluenzr send --idempotency-key`

Revision ID: 0005_idempotency
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "workspace_id",
            sa.Integer,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column(
            "outbox_id",
            sa.Integer,
            sa.ForeignKey("outbox_messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("workspace_id", "key", name="uq_idempotency_keys_workspace_key"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_index("ix_idempotency_keys_outbox_id", "idempotency_keys", ["outbox_id"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
