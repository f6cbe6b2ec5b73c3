"""Access to the services started by scripts/services.sh, with the CI no-skip rule."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get(
    "FLUENZR_TEST_PG_URL", "postgresql+psycopg://fluenzr:fluenzr@127.0.0.1:5432/postgres"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(service: str, why: str) -> None:
    """Skip locally; under CI a missing service is a failure, never a skip."""
    message = f"{service} unavailable: {why} (start it with scripts/services.sh up)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def fresh_pg_database(*, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database for one test (empty, or a copy of ``template``); dropped
    afterwards."""
    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL", "nothing listens on 127.0.0.1:5432")
    name = f"fluenzr_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    source = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{source}'))
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated_templates(folder: Path) -> Iterator[dict[str, str]]:
    """A SQLite file and (when PostgreSQL runs) a template database, both migrated to head.

    ``{"sqlite": path, "postgres": database name}``; the PostgreSQL one is made on first
    need only if the server answers, and dropped at the end. No connection stays open on the
    template (``CREATE DATABASE … TEMPLATE`` refuses a template in use)."""
    from fluenzr.storage.engine import make_engine
    from fluenzr.storage.schema import ensure_schema

    sqlite_path = folder / "fluenzr.db"
    engine = make_engine(f"sqlite:///{sqlite_path}")
    ensure_schema(engine)
    engine.dispose()
    templates = {"sqlite": str(sqlite_path)}
    name = None
    if port_open("127.0.0.1", 5432):
        name = f"fluenzr_tmpl_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
        ensure_schema(engine)
        engine.dispose()
        templates["postgres"] = name
    try:
        yield templates
    finally:
        if name is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
