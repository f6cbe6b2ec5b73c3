"""Run the real `fluenzr` CLI in-process (Typer's runner) with an isolated home and database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from fluenzr.cli.main import app
from fluenzr.cli.state import STATE


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Cli:
    home: Path
    database_url: str | None = None

    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> CliResult:
        runner = CliRunner()
        full_env = {"FLUENZR_HOME": str(self.home), "FLUENZR_LANG": "es", **(env or {})}
        if self.database_url:
            full_env["FLUENZR_DATABASE_URL"] = self.database_url
        try:
            result = runner.invoke(
                app, list(args), input=input, env=full_env, catch_exceptions=False
            )
        finally:
            STATE.close()
        return CliResult(result.exit_code, result.stdout, result.stderr)
