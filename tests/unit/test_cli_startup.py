"""`fluenzr` starts with Typer alone: a cheap guard on imports, no timing.

Each check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# What start-up must not pay for (each costs 0.1–0.5 s to import): the web stack, Alembic, the
# HTTP client, the ORM, Rich's renderer, pydantic (typer 0.29 would import it for every
# parameter: pyproject pins <0.29), pydantic-settings, babel, the vault's cryptography.
HEAVY = (
    "fastapi",
    "alembic",
    "httpx",
    "sqlalchemy",
    "rich",
    "pydantic",
    "pydantic_settings",
    "babel",
    "cryptography",
)


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
    heavy = {"fastapi", "alembic", "httpx", "sqlalchemy", "rich", "pydantic_settings"}
    assert _loaded(code) & heavy == set()


def test_the_help_builds_no_command() -> None:
    # Typer would build every command's parameters (each annotation evaluated) to list them.
    import typer

    from fluenzr.cli.lazy_commands import DeferredCommands
    from fluenzr.cli.main import app

    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    commands = group.commands
    assert isinstance(commands, DeferredCommands)
    ctx = typer.Context(group)
    group.format_commands(ctx, ctx.make_formatter())

    def only_groups_built(found: DeferredCommands) -> None:
        # Only the groups (`accounts`, `keys`, `outbox`…) exist; none of their commands.
        for name in found.built():
            sub = found[name]
            assert isinstance(sub, typer.core.TyperGroup), name
            assert isinstance(sub.commands, DeferredCommands), name
            only_groups_built(sub.commands)

    only_groups_built(commands)
    assert "send" not in commands.built() and "send" in commands


def _run_loaded(argv: list[str], home: Path) -> set[str]:
    """The full module names a real command loaded, in a fresh interpreter, on ``home``."""
    code = (
        "import sys, io, json, contextlib\nfrom fluenzr.cli.main import main\n"
        f"sys.argv = ['fluenzr', *{argv!r}]\nout = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n    try:\n        main()\n"
        "    except SystemExit as exc:\n        assert not exc.code, out.getvalue()\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    env = {**_clean_env(), "FLUENZR_HOME": str(home), "FLUENZR_LANG": "en"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.splitlines()[-1]))


# A command that reads or queues data: no vault, web stack, migrations, HTTP client, Rich, Babel.
NOT_FOR_DATA_COMMANDS = {"cryptography", "fastapi", "alembic", "httpx", "rich", "babel"}


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("FLUENZR_")}


def _roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.fixture(scope="module")
def ready_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with keys, a migrated SQLite database and one account (first run done)."""
    home = tmp_path_factory.mktemp("cli") / "home"
    env = {**_clean_env(), "FLUENZR_HOME": str(home), "ACCOUNT_PW": "pw-correct-horse"}
    add = ["accounts", "add", "--email", "a@example.com", "--smtp-host", "smtp.example.com"]
    add += ["--smtp-port", "587", "--smtp-security", "starttls", "--password-env", "ACCOUNT_PW"]
    subprocess.run(
        [sys.executable, "-c", "from fluenzr.cli.main import main; main()", *add],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return home


def test_accounts_list_json_reads_no_secret_and_loads_no_orm(ready_home: Path) -> None:
    loaded = _run_loaded(["accounts", "list", "--json"], ready_home)
    # No vault (it shows no secret), no web stack, no migrations, no ORM, no Rich, no Babel,
    # no pydantic (the settings parse without it; the rows are plain dicts).
    assert _roots(loaded) & {*NOT_FOR_DATA_COMMANDS, "pydantic", "pydantic_settings"} == set()
    assert {"sqlalchemy.orm", "fluenzr.storage.models", "fluenzr.vault"} & loaded == set()


def test_send_queues_without_the_vault_or_the_web(ready_home: Path) -> None:
    send = ["send", "--account", "1", "--to", "bob@example.org", "--subject", "Hola"]
    loaded = _run_loaded([*send, "--text", "Una línea.", "--json"], ready_home)
    # Queueing seals nothing and opens nothing: the vault (private key) is the worker's.
    assert _roots(loaded) & {*NOT_FOR_DATA_COMMANDS, "pydantic_settings"} == set()
    assert "fluenzr.vault" not in loaded


def test_send_writes_through_core_without_the_orm_or_pydantic(ready_home: Path) -> None:
    # One message queued through SQLAlchemy Core (services.outbox_queue): no ORM, no model
    # module (so no mapper configuration), no pydantic view; email-validator stays (it checks
    # the addresses).
    send = ["send", "--account", "1", "--to", "carol@example.org", "--subject", "Hola"]
    loaded = _run_loaded([*send, "--text", "Otra línea.", "--json"], ready_home)
    assert "pydantic" not in _roots(loaded)
    assert {"sqlalchemy.orm", "fluenzr.storage.models", "fluenzr.services.outbox"} & loaded == set()
    assert "fluenzr.services.outbox_queue" in loaded
