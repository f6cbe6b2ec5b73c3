"""fleet table: indexes for filtering accounts and counting one page's events

Revision ID: 0017
Revises: 0014
"""

from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_accounts_workspace_status", "accounts", ["workspace_id", "status"])
    op.create_index("ix_accounts_workspace_provider", "accounts", ["workspace_id", "provider"])
    op.create_index(
        "ix_events_account_type_created", "events", ["account_id", "type", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_events_account_type_created", table_name="events")
    op.drop_index("ix_accounts_workspace_provider", table_name="accounts")
    op.drop_index("ix_accounts_workspace_status", table_name="accounts")
