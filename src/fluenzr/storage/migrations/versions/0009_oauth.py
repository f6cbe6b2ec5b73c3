"""oauth: accounts connected with OAuth 2.0 (Google, Microsoft)

For an OAuth account ``smtp_password_sealed`` holds the sealed refresh token (its context names
the provider, token endpoint and mail servers: ``services.credential_binding``), and
``oauth_access_sealed`` the current access token, sealed the same way, so every worker shares
one token and refreshes it under the row's lock.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("auth_method", sa.String(16), nullable=False, server_default="password")
        )
        batch.add_column(sa.Column("oauth_token_endpoint", sa.String(500)))
        batch.add_column(sa.Column("oauth_access_sealed", sa.LargeBinary))
        batch.add_column(sa.Column("oauth_access_expires_at", TS))
        batch.add_column(sa.Column("oauth_scope", sa.Text))
        batch.add_column(sa.Column("oauth_refreshed_at", TS))
    op.create_table(
        "oauth_flows",
        sa.Column("state_sha256", sa.String(64), primary_key=True),
        sa.Column("session_sha256", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id", ondelete="CASCADE")),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("account_id", sa.Integer),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("redirect_uri", sa.String(500), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_oauth_flows_expires_at", "oauth_flows", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_oauth_flows_expires_at", table_name="oauth_flows")
    op.drop_table("oauth_flows")
    with op.batch_alter_table("accounts") as batch:
        for name in (
            "oauth_refreshed_at",
            "oauth_scope",
            "oauth_access_expires_at",
            "oauth_access_sealed",
            "oauth_token_endpoint",
            "auth_method",
        ):
            batch.drop_column(name)
