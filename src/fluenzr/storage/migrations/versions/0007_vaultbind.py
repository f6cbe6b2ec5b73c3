"""vaultbind: vault key ids shared by every role (rotation visible to the web role)

Revision ID: 0005_vaultbind
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vault_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS),
    )


def downgrade() -> None:
    op.drop_table("vault_keys")
