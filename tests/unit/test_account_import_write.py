"""The bulk import's Core insert fills every column the way the ORM would."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime

from fluenzr.services import account_import_write
from fluenzr.storage.models import Account


def test_every_server_default_has_a_python_default() -> None:
    # The insert sends every column: one with only a server default would be written as NULL.
    missing = [
        c.key
        for c in Account.__table__.columns
        if c.server_default is not None and c.default is None
    ]
    assert missing == []


def test_unset_columns_get_the_models_defaults() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    values = account_import_write._values(Account(email="ana@example.com"), now)
    assert values["email"] == "ana@example.com"
    assert values["created_at"] == now and values["updated_at"] == now
    assert values["daily_limit"] == 50 and values["status"] == "active"
    assert values["smtp_auth"] is True and values["timezone"] == "UTC"


def test_a_callable_default_is_called() -> None:
    column = Column("other_at", DateTime, default=lambda: datetime(2000, 1, 1, tzinfo=UTC))
    produced = account_import_write._default(column, datetime.now(UTC))
    assert produced == datetime(2000, 1, 1, tzinfo=UTC)
