"""Migrations from day one: the migrated schema is exactly what the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from fluenzr.storage.migrate import upgrade
from fluenzr.storage.models import Base


def test_models_match_migrations(blank_db_url: str, home: object) -> None:
    engine = create_engine(blank_db_url)
    try:
        if blank_db_url.startswith("sqlite"):
            from pathlib import Path

            Path(blank_db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        upgrade(engine)
        upgrade(engine)  # idempotent
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        engine.dispose()
