"""`fluenzr` starts with Typer alone: a cheap guard on imports, no timing.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

# What start-up must not pay for (each costs 0.1–0.5 s to import): the web stack, Alembic, the
# HTTP client, the ORM, Rich's renderer, pydantic-settings, babel.
HEAVY = ("fastapi", "alembic", "httpx", "sqlalchemy", "rich", "pydantic_settings", "babel")


def _loaded(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _loaded("import fluenzr.cli.main") & set(HEAVY) == set()


def test_help_loads_no_heavy_library() -> None:
    code = (
        "import sys\nfrom fluenzr.cli.main import app\nsys.argv = ['fluenzr', '--help']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    assert _loaded(code) & set(HEAVY) == set()


def test_presets_json_needs_neither_the_database_nor_the_web() -> None:
    code = (
        "import sys, io, contextlib\nfrom fluenzr.cli.main import app\n"
        "sys.argv = ['fluenzr', 'presets', '--json']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        app()\n    except SystemExit:\n        pass"
    )
    assert _loaded(code) & {"fastapi", "alembic", "httpx", "sqlalchemy", "rich"} == set()
