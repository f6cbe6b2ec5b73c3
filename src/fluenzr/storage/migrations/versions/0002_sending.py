"""sending: outbox, sending state (owned by the sending engine)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op  # noqa: F401

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
