"""tenants: invitations, login throttling per (account, client), last chosen workspace

Revision ID: 0005_tenants
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("last_workspace_id", sa.Integer))
        batch.create_foreign_key(
            "fk_users_last_workspace_id_workspaces",
            "workspaces",
            ["last_workspace_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.drop_index("ix_login_attempts_key_created", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", TS),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_login_throttle_updated_at", "login_throttle", ["updated_at"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "workspace_id",
            sa.Integer,
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("invited_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("accepted_at", TS),
        sa.Column("accepted_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
    )
    op.create_index("ix_invitations_workspace_id", "invitations", ["workspace_id"])


def downgrade() -> None:
    op.drop_table("invitations")
    op.drop_table("login_throttle")
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_login_attempts_key_created", "login_attempts", ["key", "created_at"])
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_last_workspace_id_workspaces", type_="foreignkey")
        batch.drop_column("last_workspace_id")
