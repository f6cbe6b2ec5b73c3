"""`./dev bench fleet_import [--rows N] [--database-url URL] [--smoke]`: importing a fleet.

Issue #13's "Import 10,000 CSV rows": wall time, CPU time and peak RSS of

- ``parse``: the CSV bytes → rows (decoding, header aliases, caps);
- ``dry run``: parse + every row checked with the account form's rules, nothing written;
- ``import``: parse + check + rows written one transaction per chunk, passwords sealed;

beside the reference measured in the same run: ``seal N secrets alone`` (the vault's
X25519 + AES-GCM per password, nothing else). Each row runs in its own fresh process, so its
peak RSS is its own (``ru_maxrss``). SQLite by default (a temp home); ``--database-url`` points
the dry run and the import at another database (a PostgreSQL one: it must be empty, it is
migrated and left with the rows). ``--smoke``: 20 rows, every part, all in one process (CI's
benchmark smoke test; its RSS column is then the process's, not each phase's).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HEADER = "Email,First Name,Last Name,SMTP Host,SMTP Port,Password,IMAP Host,IMAP Port,Tags\n"


def _csv(rows: int) -> bytes:
    lines = [HEADER]
    for n in range(rows):
        lines.append(
            f"sender{n}@example.com,Sender,{n},smtp.example.com,587,pw-{n}-correct-horse,"
            f"smtp.example.com,993,fleet;bench\n"
        )
    return "".join(lines).encode()


def _phase(name: str, *, rows: int, home: Path, database_url: str | None) -> dict[str, Any]:
    """Run one phase in this (fresh) process; print what it measured as JSON."""
    from fluenzr.config import load_settings
    from fluenzr.core.secret import Secret
    from fluenzr.services import account_csv, account_import
    from fluenzr.services.context import default_workspace_id, open_app

    overrides: dict[str, Any] = {"home": home}
    if database_url:
        overrides["database_url"] = database_url
    ctx = open_app(load_settings(**overrides))
    try:
        workspace = default_workspace_id(ctx.sessions)
        data = _csv(rows)
        vault = ctx.vault
        started, cpu = time.perf_counter(), time.process_time()
        if name == "seal":
            for n in range(rows):
                vault.seal(Secret(f"pw-{n}-correct-horse"), context=f"bench:{n}")
            done = rows
        elif name == "parse":
            done = len(account_csv.parse_csv(data).rows)
        else:
            parsed = account_csv.parse_csv(data)
            report = account_import.run_import(
                ctx, parsed, workspace_id=workspace, dry_run=name == "dry"
            )
            expected = "new" if name == "dry" else "created"
            done = report.counts.get(expected, 0)
            if done != rows:
                raise SystemExit(f"{name}: {report.counts} for {rows} rows")
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        ctx.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"name": name, "rows": done, "wall": wall, "cpu": cpu, "peak_mb": peak_kb / 1024}


def _template(home: Path) -> Path:
    """A migrated home with its keys, copied for each phase (migrating costs seconds)."""
    from fluenzr.config import load_settings
    from fluenzr.services.context import open_app

    open_app(load_settings(home=home)).close()
    return home


def _run(name: str, *, rows: int, home: Path, database_url: str | None) -> dict[str, Any]:
    argv = [sys.executable, "-m", "benchmarks.fleet_import", "--phase", name]
    argv += ["--rows", str(rows), "--home", str(home)]
    if database_url and name in {"dry", "import"}:
        argv += ["--database-url", database_url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"phase {name} failed: {done.stderr[-1500:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


LABELS = {
    "seal": "seal N secrets alone (reference)",
    "parse": "parse the CSV",
    "dry": "dry run (parse + check every row)",
    "import": "import (check + seal + write, one transaction per chunk)",
}


def _table(results: list[dict[str, Any]], *, backend: str) -> None:
    seal = results[0]
    print(f"\nfleet_import — {seal['rows']:,} rows, database: {backend}\n")
    print(f"{'phase':<56} {'wall s':>8} {'CPU s':>8} {'rows/s':>9} {'peak RSS':>10} {'× seal':>7}")
    for r in results:
        rate = r["rows"] / r["wall"] if r["wall"] else float("inf")
        ratio = r["wall"] / seal["wall"] if seal["wall"] else float("inf")
        print(
            f"{LABELS[r['name']]:<56} {r['wall']:>8.2f} {r['cpu']:>8.2f} {rate:>9,.0f} "
            f"{r['peak_mb']:>8.0f} MB {ratio:>7.1f}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench fleet_import")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="Run dry run + import on this DB.")
    parser.add_argument("--smoke", action="store_true", help="20 rows, every part.")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rows = 20 if args.smoke else args.rows
    if args.phase:
        phase = _phase(args.phase, rows=rows, home=args.home, database_url=args.database_url)
        print(json.dumps(phase))
        return 0
    os.environ.setdefault("FLUENZR_LOG_LEVEL", "WARNING")
    with tempfile.TemporaryDirectory(prefix="fleet-import-") as tmp:
        base = Path(tmp)
        template = _template(base / "template")
        results = []
        for name in ("seal", "parse", "dry", "import"):
            # A fresh copy of a migrated home per phase: the import writes into an empty database.
            home = base / name
            shutil.copytree(template, home)
            if args.smoke:  # in this process: the parts run, start-up is not paid four times
                results.append(_phase(name, rows=rows, home=home, database_url=args.database_url))
            else:
                results.append(_run(name, rows=rows, home=home, database_url=args.database_url))
    _table(results, backend="PostgreSQL" if args.database_url else "SQLite")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
