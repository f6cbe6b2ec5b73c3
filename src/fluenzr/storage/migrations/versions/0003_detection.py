"""detection: IMAP state, suppression, webhooks (owned by reply detection)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op  # noqa: F401

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
