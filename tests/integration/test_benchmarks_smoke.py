"""Every benchmark, and every `./dev bench …` command the docs show, runs at a tiny size.

Benchmarks are found through the package's own registry (``benchmarks.__main__.available``),
so a new ``benchmarks/<name>/`` is covered without editing this file. Each runs as a whole
process, exactly as ``./dev bench`` starts it, plus ``--smoke`` (tiny sizes, one round),
against the real services it measures (Postfix, Dovecot, smtp-sink, PostgreSQL) and with its
reference clients (swaks, Nodemailer, imapflow) installed by ``scripts/services.sh up``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.__main__ import available

from tests.support.mailservers import require_mailserver
from tests.support.services import port_open, unavailable

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = re.compile(r"`\./dev bench ([^`]*)`")


def documented_commands() -> list[str]:
    """Literal `./dev bench …` commands in README, docs/ and benchmarks/ (not synopses)."""
    sources = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "benchmarks").rglob("*")]
    found: set[str] = set()
    for source in sources:
        if source.suffix not in {".md", ".py"} or "node_modules" in source.parts:
            continue
        for command in DOCUMENTED.findall(source.read_text(encoding="utf-8")):
            if not re.search(r"[\[<]|\bN\b|…", command):  # a synopsis, not a command
                found.add(command.strip())
    return sorted(found)


def smoke_commands() -> list[str]:
    """Every benchmark and documented command once: each run adds ``--smoke``, so a documented
    ``classify --smoke`` is the same process as ``classify`` and is not started twice."""
    commands = set(available()) | set(documented_commands())
    return sorted({" ".join(w for w in c.split() if w != "--smoke") for c in commands})


def test_documented_commands_name_real_benchmarks() -> None:
    commands = documented_commands()
    assert commands, "no `./dev bench …` command found in the docs"
    for command in commands:
        assert command.split()[0] in available(), command


@pytest.mark.mailserver
@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(180)
# One worker runs them all: their private servers (fleet_detect's Dovecot) take fixed ports.
@pytest.mark.xdist_group("benchmarks")
@pytest.mark.parametrize("command", smoke_commands(), ids=lambda c: c)
def test_benchmark_runs_at_smoke_size(command: str) -> None:
    require_mailserver()
    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL", "nothing listens on 127.0.0.1:5432")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", *command.split(), "--smoke"],
        cwd=ROOT,
        env={**os.environ, "FLUENZR_LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, f"./dev bench {command} --smoke:\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), "the benchmark printed no figures"
