"""`./dev bench cli [--runs N] [--accounts N] [--smoke]`: how fast `fluenzr` starts.

Each row is a whole process (``subprocess``), as a script calling ``fluenzr`` in a loop sees it:
one warm-up run (bytecode compiled), then N timed runs (default 7); the table shows the median,
min and max wall time, the median CPU time of the child (user + sys; the fairer figure on a
shared machine) and the target. In the same run, two references: ``python -c pass`` (the floor)
and ``python -c "import sqlalchemy"`` (what any command touching the database pays at least).

Rows: ``fluenzr --help``; ``fluenzr presets --json``; ``fluenzr accounts list --json`` on a
database of ``--accounts`` accounts (default 1,000, created first in a temp home through the
services, so every password is sealed as in real use); ``fluenzr send`` of one message.
``--smoke`` runs everything once on 10 accounts (what CI's benchmark smoke test uses).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fluenzr.config import load_settings
from fluenzr.core.secret import Secret
from fluenzr.services.account_config import AccountInput
from fluenzr.services.accounts import create_account
from fluenzr.services.context import default_workspace_id, open_app

PYTHON = sys.executable
FLUENZR = str(Path(sys.executable).parent / "fluenzr")


@dataclass
class Row:
    name: str
    target: float | None  # seconds; None: no target (a reference, or presets)
    wall: list[float]
    cpu: list[float]


def _populate(home: Path, *, accounts: int) -> int:
    ctx = open_app(load_settings(home=home))
    try:
        workspace_id = default_workspace_id(ctx.sessions)
        first = None
        for n in range(accounts):
            view = create_account(
                ctx,
                workspace_id=workspace_id,
                data=AccountInput(
                    email=f"sender{n}@example.com",
                    display_name=f"Sender {n}",
                    smtp_host="smtp.example.com",
                    smtp_port=587,
                    smtp_security="starttls",
                    password=Secret(f"pw-{n}-correct-horse"),
                ),
            )
            first = first if first is not None else view.id
        assert first is not None
        return first
    finally:
        ctx.close()


def _time(
    argv: list[str], *, env: dict[str, str], runs: int, warm_up: bool = True
) -> tuple[list[float], list[float]]:
    def once() -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, timeout=120)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{argv[1:]} exited {done.returncode}: {done.stderr.decode()[-500:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu

    if warm_up:  # .pyc files written, page cache filled (the smoke run's figures are not kept)
        once()
    figures = [once() for _ in range(runs)]
    return [w for w, _ in figures], [c for _, c in figures]


def _check(env: dict[str, str], *, accounts: int) -> None:
    """The timed commands really do their work (a fast wrong answer is no figure)."""
    listed = subprocess.run(
        [FLUENZR, "accounts", "list", "--json"], env=env, capture_output=True, check=True
    )
    count = len(json.loads(listed.stdout)["accounts"])
    if count != accounts:
        raise SystemExit(f"accounts list returned {count} accounts, expected {accounts}")


def _print(rows: list[Row], *, runs: int, accounts: int) -> None:
    print(f"\n== fluenzr start-up: whole processes, {runs} runs each, {accounts} accounts ==")
    head = f"{'command':<34} {'median':>8} {'min':>8} {'max':>8} {'CPU':>8} {'target':>8}"
    print(head)
    for row in rows:
        target = (
            f"< {row.target:.1f} s"
            if row.target
            else ("—" if row.name.startswith("fluenzr") else "ref")
        )
        ok = (
            ""
            if row.target is None
            else ("  ok" if statistics.median(row.wall) < row.target else "  OVER")
        )
        print(
            f"{row.name:<34} {statistics.median(row.wall):>7.3f}s {min(row.wall):>7.3f}s "
            f"{max(row.wall):>7.3f}s {statistics.median(row.cpu):>7.3f}s {target:>8}{ok}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench cli")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true", help="1 run, 10 accounts (CI smoke)")
    args = parser.parse_args(argv)
    runs, accounts = (1, 10) if args.smoke else (args.runs, args.accounts)
    with tempfile.TemporaryDirectory(prefix="fluenzr-bench-cli-") as tmp:
        home = Path(tmp) / "home"
        account_id = _populate(home, accounts=accounts)
        # PYTHONDONTWRITEBYTECODE off: the warm-up run writes the .pyc files, as an installed
        # fluenzr has them (with it set, every run would compile all of fluenzr again).
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith("FLUENZR_") and k != "PYTHONDONTWRITEBYTECODE"
            },
            "FLUENZR_HOME": str(home),
            "FLUENZR_LANG": "en",
        }
        _check(env, accounts=accounts)
        send = [FLUENZR, "send", "--account", str(account_id), "--to", "bob@example.org"]
        send += ["--subject", "Hola", "--text", "Una línea.", "--json"]
        commands: list[tuple[str, float | None, list[str]]] = [
            ("python -c pass", None, [PYTHON, "-c", "pass"]),
            ('python -c "import sqlalchemy"', None, [PYTHON, "-c", "import sqlalchemy"]),
            ("fluenzr --help", 0.2, [FLUENZR, "--help"]),
            ("fluenzr presets --json", None, [FLUENZR, "presets", "--json"]),
            (
                f"fluenzr accounts list --json ({accounts})",
                0.5,
                [FLUENZR, "accounts", "list", "--json"],
            ),
            ("fluenzr send (one message)", 0.5, send),
        ]
        rows = [
            Row(name, target, *_time(cmd, env=env, runs=runs, warm_up=not args.smoke))
            for name, target, cmd in commands
        ]
    _print(rows, runs=runs, accounts=accounts)
    return 0
