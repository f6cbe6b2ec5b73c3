"""`./dev bench fleet_accounts [--accounts N] [--runs N] [--no-postgres] [--smoke]`: the accounts
list with 10,000 accounts.

Three questions the "Cuentas de Email" table, ``fluenzr accounts list`` and
``GET /api/v1/accounts`` ask: the first page (50 by id), a filtered page (paused accounts with
one tag, sorted by email) and a search (a substring of the email). Each is timed three ways in
the same run, on the same database:

- **HTTP**: ``GET /api/v1/accounts?…`` in-process through ``fastapi.testclient`` (ASGI: routing,
  auth, validation, the service, JSON) — the server time a client waits for, minus the network;
- **service**: ``account_listing.account_page_dicts`` alone (the page's rows, their tags, 30-day
  counts and health score);
- **raw SQL** (the reference): the same page's ``SELECT … LIMIT 50`` and its ``COUNT(*)`` as
  hand-written SQL text on the same engine, nothing else.

The database gets ``--accounts`` accounts (default 10,000; inserted with Core, a dummy sealed
password: sealing is not what is measured), two ``sent`` events per account and a bounce on one in
ten (the health score's inputs), and a tag on one in ten, then ``ANALYZE``. SQLite always;
PostgreSQL too when the tests' server answers (``FLUENZR_TEST_PG_URL``, default the local one),
in a database made and dropped here. ``--smoke``: 200 accounts, 3 runs.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text

from fluenzr.config import load_settings
from fluenzr.core.secret import Secret
from fluenzr.server import create_app
from fluenzr.services import account_listing, tokens, users
from fluenzr.services.context import AppContext, open_app
from fluenzr.storage.account_query import AccountFilter, PageRequest
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.fleet import AccountTag

PG_ADMIN_URL = os.environ.get(
    "FLUENZR_TEST_PG_URL", "postgresql+psycopg://fluenzr:fluenzr@127.0.0.1:5432/postgres"
)
PER_PAGE = 50


@dataclass(frozen=True)
class Scenario:
    name: str
    query: str  # the API's query string
    chosen: AccountFilter
    paging: PageRequest
    sql: str  # the reference page query; {count} → its COUNT(*) twin
    count_sql: str
    params: dict[str, Any]


def _scenarios(accounts: int) -> list[Scenario]:
    probe = f"user{accounts // 2:05d}"
    base = "FROM accounts WHERE workspace_id = :ws"
    # constant text; every value is a bound parameter
    paused_tagged = (
        f"{base} AND status = 'paused' AND EXISTS (SELECT 1 FROM account_tags t "  # noqa: S608
        "WHERE t.account_id = accounts.id AND t.tag = :tag)"
    )
    like = (
        f"{base} AND (lower(email) LIKE :pattern OR lower(display_name) LIKE :pattern "
        "OR lower(smtp_host) LIKE :pattern OR lower(imap_host) LIKE :pattern)"
    )
    return [
        Scenario(
            "first page",
            f"per_page={PER_PAGE}",
            AccountFilter(),
            PageRequest(per_page=PER_PAGE),
            f"SELECT * {base} ORDER BY id LIMIT {PER_PAGE}",
            f"SELECT count(*) {base}",
            {},
        ),
        Scenario(
            "filtered (paused + tag, by email)",
            f"status=paused&tag=lote-0&sort=email&per_page={PER_PAGE}",
            AccountFilter(status="paused", tag="lote-0"),
            PageRequest(per_page=PER_PAGE, sort="email"),
            f"SELECT * {paused_tagged} ORDER BY email, id LIMIT {PER_PAGE}",
            f"SELECT count(*) {paused_tagged}",
            {"tag": "lote-0"},
        ),
        Scenario(
            "search (email substring)",
            f"search={probe}&per_page={PER_PAGE}",
            AccountFilter(search=probe),
            PageRequest(per_page=PER_PAGE),
            f"SELECT * {like} ORDER BY id LIMIT {PER_PAGE}",
            f"SELECT count(*) {like}",
            {"pattern": f"%{probe}%"},
        ),
    ]


def _fill(ctx: AppContext, workspace: int, accounts: int) -> None:
    """Accounts, events and tags with Core executemany (the benchmark is of reading them)."""
    now = datetime.now(UTC)
    rows, events, tags = [], [], []
    for number in range(accounts):
        paused = number % 7 == 0
        rows.append(
            {
                "workspace_id": workspace,
                "email": f"user{number:05d}@dominio{number % 50}.test",
                "display_name": f"Usuario {number}",
                "provider": ("custom", "gmail", "outlook")[number % 3],
                "smtp_host": f"smtp.dominio{number % 50}.test",
                "smtp_port": 587,
                "smtp_security": "starttls",
                "smtp_username": f"user{number:05d}@dominio{number % 50}.test",
                "smtp_password_sealed": b"not-a-real-sealed-secret",
                "status": "paused" if paused else "active",
                "status_reason": "manual" if paused else None,
                "last_test_ok": None if number % 5 == 0 else number % 11 != 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    with ctx.engine.begin() as connection:
        connection.execute(insert(Account), rows)
        ids = [int(i) for i in connection.scalars(text("SELECT id FROM accounts ORDER BY id"))]
        for index, account_id in enumerate(ids):
            for hours in (2, 30):
                events.append(_event(workspace, account_id, "sent", now - timedelta(hours=hours)))
            if index % 10 == 0:
                events.append(_event(workspace, account_id, "bounce", now - timedelta(hours=1)))
                tags.append(
                    {
                        "account_id": account_id,
                        "tag": f"lote-{(index // 10) % 5}",
                        "created_at": now,
                    }
                )
        connection.execute(insert(Event), events)
        connection.execute(insert(AccountTag), tags)
    # Planner statistics, as autovacuum (PostgreSQL) or a long-lived database would have them:
    # right after a bulk insert PostgreSQL believes the tables empty and nests loops over 10,000
    # rows (a filtered page took 0.8 s instead of 20 ms before this).
    with ctx.engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def _event(workspace: int, account_id: int, kind: str, when: datetime) -> dict[str, Any]:
    return {
        "workspace_id": workspace,
        "account_id": account_id,
        "type": kind,
        "data": "{}",
        "created_at": when,
    }


def _timed(runs: int, call: Callable[[], object]) -> tuple[float, float]:
    call()  # warm-up: caches, prepared statements, the first connection
    figures = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        figures.append((time.perf_counter() - start) * 1000)
    figures.sort()
    p95 = figures[min(len(figures) - 1, round(0.95 * (len(figures) - 1)))]
    return statistics.median(figures), p95


def _bench(ctx: AppContext, *, label: str, accounts: int, runs: int) -> list[str]:
    user = users.setup_admin(ctx, email="bench@fluenzr.test", name="B", password=Secret("b" * 16))
    workspace = users.workspaces_of(ctx, user.id)[0].id
    _view, secret = tokens.create_token(ctx, user_id=user.id, workspace_id=workspace, name="b")
    started = time.perf_counter()
    _fill(ctx, workspace, accounts)
    filled = time.perf_counter() - started
    headers = {"Authorization": f"Bearer {secret.reveal()}"}
    lines = [f"\n== {label}: {accounts} accounts (filled in {filled:.1f} s), {runs} runs each =="]
    lines.append(
        f"{'query':36} {'matches':>7}  {'HTTP p50/p95 ms':>16}  {'service p50/p95':>16}  "
        f"{'raw SQL p50/p95 (ref)':>22}"
    )
    app = create_app(ctx, role="all", sending=False)
    with TestClient(app) as client:
        floor = _timed(runs, lambda: client.get("/api/v1/me", headers=headers))
        for case in _scenarios(accounts):
            reply = client.get(f"/api/v1/accounts?{case.query}", headers=headers)
            if reply.status_code != 200:
                raise SystemExit(f"{case.name}: HTTP {reply.status_code} {reply.text[:200]}")
            total = int(reply.headers["x-total-count"])
            url = f"/api/v1/accounts?{case.query}"

            def page(c: Scenario = case) -> object:
                return account_listing.account_page_dicts(
                    ctx.engine,
                    workspace_id=workspace,
                    chosen=c.chosen,
                    paging=c.paging,
                    now=datetime.now(UTC),
                )

            http = _timed(runs, functools.partial(client.get, url, headers=headers))
            service = _timed(runs, page)
            params = {"ws": workspace, **case.params}

            def raw(c: Scenario = case, p: dict[str, Any] = params) -> None:
                with ctx.engine.connect() as connection:
                    connection.execute(text(c.sql), p).all()
                    connection.execute(text(c.count_sql), p).scalar()

            reference = _timed(runs, raw)
            lines.append(
                f"{case.name:36} {total:>7}  {http[0]:>7.1f} / {http[1]:<6.1f}  "
                f"{service[0]:>7.1f} / {service[1]:<6.1f}  "
                f"{reference[0]:>10.2f} / {reference[1]:<8.2f}"
            )
    lines.append(
        f"(HTTP floor, GET /api/v1/me: auth + one row: {floor[0]:.1f} / {floor[1]:.1f} ms)"
    )
    return lines


def _pg_up() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 5432), timeout=1):
        return True
    return False


@contextlib.contextmanager
def _pg_database() -> Iterator[str]:
    name = f"fluenzr_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run(url: str | None, home: Path, *, label: str, accounts: int, runs: int) -> list[str]:
    settings = load_settings(home=home, database_url=url or f"sqlite:///{home / 'fluenzr.db'}")
    ctx = open_app(settings)
    try:
        return _bench(ctx, label=label, accounts=accounts, runs=runs)
    finally:
        ctx.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench fleet_accounts")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="200 accounts, 3 runs")
    args = parser.parse_args(argv)
    accounts, runs = (200, 3) if args.smoke else (args.accounts, args.runs)
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        lines += _run(None, Path(folder) / "sqlite", label="SQLite", accounts=accounts, runs=runs)
        if not args.no_postgres and _pg_up():
            with _pg_database() as url:
                lines += _run(
                    url, Path(folder) / "pg", label="PostgreSQL", accounts=accounts, runs=runs
                )
        elif not args.no_postgres:
            lines.append("\n(PostgreSQL: nothing listens on 127.0.0.1:5432; skipped)")
    print("\n".join(lines))
    return 0
