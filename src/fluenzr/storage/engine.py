"""Engines and sessions for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError

from fluenzr.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 10})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    except (ArgumentError, ImportError, ValueError) as exc:
        # from None: the library's error may repeat the URL, password included.
        problem = _without_password(str(exc), url)
        raise ConfigError(params={"setting": "FLUENZR_DATABASE_URL", "problem": problem}) from None
    return engine


_URL_PASSWORD = re.compile(r"(?<=://)([^:/@\s]*):([^@\s]*)@")


def _without_password(problem: str, url: str) -> str:
    """The problem text with the URL's password (and any ``user:password@``) masked.

    Parsers and drivers word their errors freely and may quote the URL back; the message ends up
    in a user-facing error and in logs."""
    match = _URL_PASSWORD.search(url)
    if match and match.group(2):
        problem = problem.replace(match.group(2), "***")
    return _URL_PASSWORD.sub(r"\1:***@", problem)


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        problem = str(exc.orig).strip().splitlines()[0] if exc.orig else "cannot connect"
        # from None: the driver's error may repeat the connection parameters.
        password = engine.url.password
        if password:
            problem = problem.replace(str(password), "***")
        raise ConfigError(params={"setting": "FLUENZR_DATABASE_URL", "problem": problem}) from None


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    from sqlalchemy.orm import sessionmaker  # lazy: a Core-only command never loads the ORM

    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error — never half-written."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
