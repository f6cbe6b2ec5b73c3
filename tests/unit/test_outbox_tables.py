"""The Core tables `fluenzr send` writes (storage/outbox_tables.py) agree with the models.

A renamed table or column, or a changed type, in the ORM models must fail here, not in a send
or in the suppression check (mail to a suppressed address).
"""

from __future__ import annotations

from sqlalchemy import Boolean, DateTime, Integer, LargeBinary, String, Text

from fluenzr.storage import outbox_states, outbox_tables
from fluenzr.storage.models import outbox as outbox_models
from fluenzr.storage.models.detection import Suppression
from fluenzr.storage.models.idempotency import IdempotencyKey
from fluenzr.storage.models.outbox import OutboxMessage, OutboxRecipient

PAIRS = (
    (outbox_tables.outbox_messages, OutboxMessage),
    (outbox_tables.outbox_recipients, OutboxRecipient),
    (outbox_tables.idempotency_keys, IdempotencyKey),
    (outbox_tables.suppressions, Suppression),
)


def test_core_tables_name_the_models_columns_with_their_types() -> None:
    for core, model in PAIRS:
        orm = model.__table__
        assert core.name == orm.name
        for column in core.columns:
            assert column.name in orm.c, f"{core.name}.{column.name} is not a model column"
            orm_column = orm.c[column.name]
            kind = next(
                k
                for k in (Boolean, DateTime, Integer, LargeBinary, Text, String)
                if isinstance(column.type, k)
            )
            assert isinstance(orm_column.type, kind), (core.name, column.name, orm_column.type)
            assert column.primary_key == orm_column.primary_key, (core.name, column.name)
            if kind is DateTime:
                assert orm_column.type.timezone == column.type.timezone
            if kind is String and kind is not Text:
                assert orm_column.type.length == column.type.length, (core.name, column.name)


def test_every_not_null_column_without_default_is_written() -> None:
    # The Core insert gives no model default: a required column it left out would fail.
    for core, model in PAIRS[:2]:
        for column in model.__table__.columns:
            required = not column.nullable and not column.primary_key
            if required:
                assert column.name in core.c, f"{core.name}.{column.name} is never written"


def test_the_models_use_the_shared_state_names() -> None:
    assert outbox_models.STATUSES == outbox_states.STATUSES
    assert outbox_models.QUEUED is outbox_states.QUEUED
