"""Opening the app checks the schema with one SELECT; Alembic runs only when behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from fluenzr.storage.migrate import alembic_config
from fluenzr.storage.schema import head_revisions, stored_revisions

OPEN = (
    "import json, sys\n"
    "from fluenzr.config import load_settings\n"
    "from fluenzr.services.context import open_app\n"
    "open_app(load_settings()).close()\n"
    "print(json.dumps('alembic' in sys.modules))"
)


def _open_in_fresh_process(home: Path, blank_db_url: str) -> bool:
    """Open the app in a new interpreter; whether it imported Alembic."""
    env = {**os.environ, "FLUENZR_HOME": str(home), "FLUENZR_DATABASE_URL": blank_db_url}
    out = subprocess.run(
        [sys.executable, "-c", OPEN], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return bool(json.loads(out.stdout.splitlines()[-1]))


def test_up_to_date_database_is_not_migrated(home: Path, blank_db_url: str) -> None:
    assert _open_in_fresh_process(home, blank_db_url) is True  # new database: migrated
    engine = create_engine(blank_db_url)
    try:
        assert stored_revisions(engine) == head_revisions()
        assert (
            _open_in_fresh_process(home, blank_db_url) is False
        )  # at head: one SELECT, no Alembic
        with engine.begin() as conn:  # an older database (as before migration 0004)…
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0003")
        assert _open_in_fresh_process(home, blank_db_url) is True  # …is brought to head
        assert stored_revisions(engine) == head_revisions()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM api_tokens")).scalar_one() == 0
    finally:
        engine.dispose()
