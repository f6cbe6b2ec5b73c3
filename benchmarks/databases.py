"""A fresh FluenzR app for a benchmark, on SQLite (a new home) or on a new PostgreSQL database."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.services import fresh_pg_database

from fluenzr.config import load_settings
from fluenzr.services.context import AppContext, open_app


@contextmanager
def fresh_app(database: str) -> Iterator[AppContext]:
    """``database`` is ``sqlite`` (the embedded default) or ``postgres``."""
    with tempfile.TemporaryDirectory() as home, contextlib.ExitStack() as stack:
        url = stack.enter_context(fresh_pg_database()) if database == "postgres" else None
        ctx = open_app(load_settings(home=Path(home), database_url=url))
        try:
            yield ctx
        finally:
            ctx.close()
