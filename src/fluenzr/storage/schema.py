"""Is the database at the code's schema? One SELECT, without importing Alembic.

Every process (each CLI command, each worker) opens the database, so the check on start must be
cheap: read the stored revision(s) from ``alembic_version`` and compare them with the head of the
migration files; only when they differ is Alembic imported and run (it then upgrades, or refuses
a database newer than the code, as it always did).

The head is read from the version files with a tiny parser (their ``revision = …`` and
``down_revision = …`` lines): adding a migration needs no constant to update, and
tests/unit/test_schema_head.py checks the parser agrees with Alembic's own ScriptDirectory.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

VERSIONS = Path(__file__).parent / "migrations" / "versions"
# `revision = "0004"` or Alembic's typed template `revision: str = "0004"`, at the line start.
_ASSIGN = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


def head_revisions(versions: Path = VERSIONS) -> frozenset[str] | None:
    """Revisions no migration builds on; None when a file is not the simple shape we parse."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        values: dict[str, object] = {}
        for name, expression in _ASSIGN.findall(path.read_text(encoding="utf-8")):
            try:
                values[name] = ast.literal_eval(expression)
            except (ValueError, SyntaxError):
                return None  # not a literal: let Alembic read it
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):  # a merge revision
            parents.update(str(item) for item in down)
        elif down is not None:
            return None
    return frozenset(revisions - parents)


def stored_revisions(engine: Engine) -> frozenset[str] | None:
    """The rows of ``alembic_version``; None when the table does not exist (a new database)."""
    with engine.connect() as connection:
        try:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return frozenset(rows)
        except DBAPIError:
            return None


def ensure_schema(engine: Engine) -> None:
    """Migrate only when the stored revision is not the head (one SELECT when it is)."""
    head = head_revisions()
    if head and stored_revisions(engine) == head:
        return
    from fluenzr.storage.migrate import upgrade  # lazy: Alembic costs ~0.3 s; only when behind

    upgrade(engine)
