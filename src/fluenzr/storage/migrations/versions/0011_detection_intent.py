"""detection_intent: reply intent, Exchange thread root, longer incoming kinds, RCPT bounces

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incoming_messages") as batch:
        # "auto_reply_unmatched" / "complaint_unmatched" do not fit in 16.
        batch.alter_column("kind", type_=sa.String(32), existing_type=sa.String(16))
        batch.add_column(sa.Column("intent", sa.String(24)))
        batch.add_column(sa.Column("intent_phrase", sa.Text()))
        batch.add_column(sa.Column("referred", sa.String(320)))
        batch.add_column(sa.Column("thread_index", sa.String(64)))
        batch.create_index("ix_incoming_thread_index", ["workspace_id", "thread_index"])
    with op.batch_alter_table("outbox_recipients") as batch:
        # Refused at RCPT with 5.1.x: a synchronous hard bounce (storage.hard_bounces).
        batch.add_column(sa.Column("bounced", sa.Boolean()))


def downgrade() -> None:
    with op.batch_alter_table("outbox_recipients") as batch:
        batch.drop_column("bounced")
    with op.batch_alter_table("incoming_messages") as batch:
        batch.drop_index("ix_incoming_thread_index")
        batch.drop_column("thread_index")
        batch.drop_column("referred")
        batch.drop_column("intent_phrase")
        batch.drop_column("intent")
        batch.alter_column("kind", type_=sa.String(16), existing_type=sa.String(32))
