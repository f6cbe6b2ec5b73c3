"""domain_checks: deliverability results per sending domain (checked once, shared)

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "domain_checks",
        sa.Column("domain", sa.String(253), primary_key=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
    )
    op.create_index("ix_domain_checks_checked_at", "domain_checks", ["checked_at"])


def downgrade() -> None:
    op.drop_index("ix_domain_checks_checked_at", table_name="domain_checks")
    op.drop_table("domain_checks")
