"""Run Alembic migrations to head, programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

_SCRIPTS = Path(__file__).parent / "migrations"
_PG_LOCK = 815_307_001  # advisory lock id: one migrator at a time on PostgreSQL


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def upgrade(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
