"""The tables ``fluenzr send`` writes and reads, described for SQLAlchemy Core alone.

Queueing one message runs once per process, so importing the ORM, every model module and
configuring their mappers (~0.3 s) would cost more than the INSERTs. These ``Table``
descriptions (their own ``MetaData``, never used to create anything) name the same tables and
columns as the models in :mod:`fluenzr.storage.models.outbox`, ``.idempotency`` and
``.detection``, with the same types, so values bind and load exactly as through the ORM;
tests/unit/test_outbox_tables.py checks them against the models' tables, so a rename there
fails a test instead of a send (or, worse, a suppression check).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

_metadata = MetaData()

outbox_messages = Table(
    "outbox_messages",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer),
    Column("account_id", Integer),
    Column("message_id", String(255)),
    Column("envelope_from", String(320)),
    Column("subject", Text),
    Column("in_reply_to", String(998)),
    Column("mime", LargeBinary),
    Column("status", String(16)),
    Column("attempts", Integer),
    Column("not_before", DateTime(timezone=True)),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("stop_on_reply", Boolean),
    Column("sent_copy", String(8)),
    Column("copy_attempts", Integer),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

outbox_recipients = Table(
    "outbox_recipients",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("outbox_id", Integer),
    Column("email", String(320)),
    Column("kind", String(4)),
    Column("status", String(16)),
)

idempotency_keys = Table(
    "idempotency_keys",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer),
    Column("key", String(255)),
    Column("fingerprint", String(64)),
    Column("outbox_id", Integer),
    Column("created_at", DateTime(timezone=True)),
)

suppressions = Table(
    "suppressions",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer),
    Column("email", String(320)),
    Column("reason", String(32)),
)
