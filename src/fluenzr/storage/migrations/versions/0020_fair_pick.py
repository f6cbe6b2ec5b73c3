"""fair pick: when an account may next be looked at by the sending pick

Revision ID: 0020
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sending_state") as batch:
        batch.add_column(sa.Column("wait_until", TS))
        batch.add_column(sa.Column("wait_set_at", TS))


def downgrade() -> None:
    with op.batch_alter_table("sending_state") as batch:
        batch.drop_column("wait_set_at")
        batch.drop_column("wait_until")
