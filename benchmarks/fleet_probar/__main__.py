"""`./dev bench fleet_probar [--accounts N] [--per-host K] [--reference M] [--no-send] [--smoke]`.

Bulk Probar of N accounts (default 200) on the local Postfix + Dovecot — every account a fresh
mail user, created the way the tests create them and removed afterwards — through the same code
as the bulk job and `fluenzr accounts test --all` (``services.bulk_probar_run.probe_all``), with
``probar_per_host_concurrency`` = K (default 3, the shipped default).

Figures:

- **wall time** of the bulk run, and per account;
- **max parallel connections seen by the server**: measured on the server's side of the
  sockets — a sampler process takes a snapshot of the kernel's TCP table (one ``ss`` netlink
  dump) every 5 ms and counts the ESTABLISHED sockets whose local port is Postfix's submission
  port (10587) or Dovecot's IMAPS port (10993) and whose peer is a socket of this process
  (other suites use the same servers: their connections are not ours). Printed beside K: SMTP
  and IMAP each must stay ≤ K (one account holds one slot of its host for its whole test);
- **reference, same run**: the first M accounts (default 20) tested one after another
  (``probar_per_host_concurrency`` = 1), its per-account time and the projected sequential
  time for N.

``--smoke``: 4 accounts, K = 2, reference 2, no test mail; every part, well under 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import email_validator
from tests.support.mailservers import (
    IMAPS_PORT,
    MAIL_DIR,
    SUBMISSION_PORT,
    MailUser,
    create_users,
    require_mailserver,
)
from tests.support.zone_server import ZoneServer

from fluenzr.config import load_settings
from fluenzr.services.accounts import create_account
from fluenzr.services.bulk_probar_run import HostLimiter, Row, probe_all, summary, targets
from fluenzr.services.context import AppContext, default_workspace_id, open_app

SERVER_PORTS = {SUBMISSION_PORT: "smtp", IMAPS_PORT: "imap"}
SAMPLE_SECONDS = 0.005


SS_FILTER = " or ".join(f"sport = :{p} or dport = :{p}" for p in SERVER_PORTS)


def _inodes_of(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def _endpoint_port(text: str) -> int:
    return int(text.rsplit(":", 1)[1])


def server_side_counts(pid: int) -> dict[str, int]:
    """ESTABLISHED server-side sockets of Postfix/Dovecot whose peer is a socket of ``pid``.

    One ``ss`` dump (netlink, filtered in the kernel, a few lines) is a consistent snapshot of
    both ends; ``/proc/net/tcp`` is read a page at a time, so a socket closed and a new one
    opened between two pages would both look open. Our sockets are the inodes ``pid`` holds
    before or after the dump.
    """
    before = _inodes_of(pid)
    dump = subprocess.run(
        ["ss", "-Htne", "state", "established", f"( {SS_FILTER} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ours = before | _inodes_of(pid)
    rows = [line.split() for line in dump.splitlines() if line.strip()]
    # (client port, server port) of our sockets: a port number alone may be another process's
    # towards the other server (Linux shares ephemeral ports across destinations).
    pairs = set()
    for row in rows:
        inode = next((f[4:] for f in row if f.startswith("ino:")), None)
        local, peer = _endpoint_port(row[2]), _endpoint_port(row[3])
        if inode in ours and peer in SERVER_PORTS:
            pairs.add((local, peer))
    counts = dict.fromkeys(SERVER_PORTS.values(), 0)
    for row in rows:
        local, peer = _endpoint_port(row[2]), _endpoint_port(row[3])
        if local in SERVER_PORTS and (peer, local) in pairs:
            counts[SERVER_PORTS[local]] += 1
    return counts


def _sample(pid: int, stop: Any, out: Any) -> None:
    # In its own process: sampling never competes with the measured event loop for the GIL.
    seen = dict.fromkeys(SERVER_PORTS.values(), 0)
    total = samples = 0
    while not stop.is_set():
        counts = server_side_counts(pid)
        samples += 1
        for name, count in counts.items():
            seen[name] = max(seen[name], count)
        total = max(total, sum(counts.values()))
        stop.wait(SAMPLE_SECONDS)
    out.send((seen, total, samples))


@dataclass
class Sampler:
    """Max of the server-side counts while ``running`` (a forked process, every 5 ms)."""

    max_seen: dict[str, int] = field(default_factory=dict)
    max_total: int = 0
    samples: int = 0

    @contextlib.contextmanager
    def running(self) -> Iterator[Sampler]:
        context = multiprocessing.get_context("fork")
        stop = context.Event()
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_sample, args=(os.getpid(), stop, send), daemon=True)
        process.start()
        try:
            yield self
        finally:
            stop.set()
            self.max_seen, self.max_total, self.samples = receive.recv()
            process.join()


def _accounts(ctx: AppContext, users: list[MailUser]) -> list[int]:
    workspace = default_workspace_id(ctx.sessions)
    return [
        create_account(ctx, workspace_id=workspace, data=user.account_input(force=True)).id
        for user in users
    ]


async def _bulk(
    ctx: AppContext, ids: list[int], *, per_host: int, send: bool
) -> tuple[float, list[Row], Sampler]:
    workspace = default_workspace_id(ctx.sessions)
    chosen = targets(ctx, workspace_id=workspace, account_ids=ids)
    limiter = HostLimiter(per_host=per_host, overall=ctx.settings.bulk_probar_concurrency)
    with Sampler().running() as sampler:
        started = time.perf_counter()
        rows = await probe_all(
            ctx, chosen, workspace_id=workspace, send_test_mail=send, limiter=limiter
        )
        elapsed = time.perf_counter() - started
    return elapsed, rows, sampler


def _remove(users: list[MailUser]) -> None:
    for user in users:
        with contextlib.suppress(FileNotFoundError):
            (MAIL_DIR / "users.d" / user.email).unlink()
        local, _, domain = user.email.partition("@")
        shutil.rmtree(MAIL_DIR / "vmail" / domain / local, ignore_errors=True)


def _report(name: str, elapsed: float, rows: list[Row], sampler: Sampler, per_host: int) -> None:
    counts = summary(row.outcome for row in rows)
    print(
        f"{name:<22} {len(rows):>4} accounts  wall {elapsed:7.2f} s  "
        f"{elapsed / max(1, len(rows)) * 1000:7.0f} ms/account  "
        f"ok {counts['ok']} failed {counts['failed']} throttled {counts['throttled']}"
    )
    print(
        f"{'':<22} per-host limit {per_host}  max parallel seen by the server: "
        f"smtp {sampler.max_seen['smtp']}  imap {sampler.max_seen['imap']}  "
        f"together {sampler.max_total}  ({sampler.samples} samples)"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench fleet_probar")
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--per-host", type=int, default=3)
    parser.add_argument("--reference", type=int, default=20)
    parser.add_argument("--no-send", action="store_true", help="skip the test mail")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.accounts, args.per_host, args.reference, args.no_send = 4, 2, 2, True
    require_mailserver()
    email_validator.TEST_ENVIRONMENT = True  # the test servers' reserved .test domain
    users = create_users("benchfleet", args.accounts)
    home = Path(tempfile.mkdtemp(prefix="fleet-probar-"))
    dns = ZoneServer("")  # an empty local zone: every name NXDOMAIN at once, nothing leaves
    dns.__enter__()
    try:
        ctx = open_app(
            load_settings(
                home=home,
                database_url=f"sqlite:///{home / 'fluenzr.db'}",
                probar_per_host_concurrency=args.per_host,
                bulk_probar_concurrency=200,
                dns_servers=f"127.0.0.1:{dns.port}",
                probe_timeout=1.0,
            )
        )
        try:
            ids = _accounts(ctx, users)
            send = not args.no_send
            print(f"bulk Probar on 127.0.0.1 (Postfix {SUBMISSION_PORT}, Dovecot {IMAPS_PORT})")
            # Warm-up, not counted: the first test of a process loads the vault's key, builds
            # TLS contexts and checks the shared domain once (later tests reuse the result).
            warm = time.perf_counter()
            asyncio.run(_bulk(ctx, ids[:1], per_host=1, send=send))
            print(f"{'warm-up (1 account)':<22} {time.perf_counter() - warm:.2f} s")
            elapsed, rows, sampler = asyncio.run(_bulk(ctx, ids, per_host=args.per_host, send=send))
            _report("bulk", elapsed, rows, sampler, args.per_host)
            sample = ids[: args.reference]
            ref_elapsed, ref_rows, ref_sampler = asyncio.run(
                _bulk(ctx, sample, per_host=1, send=send)
            )
            _report("reference: sequential", ref_elapsed, ref_rows, ref_sampler, 1)
            projected = ref_elapsed / max(1, len(sample)) * len(ids)
            print(
                f"{'':<22} sequential for {len(ids)} accounts (projected): {projected:.1f} s; "
                f"bulk speed-up ×{projected / max(elapsed, 1e-9):.1f}"
            )
            over = [n for n, seen in sampler.max_seen.items() if seen > args.per_host]
            if over:
                print(f"FAIL: the server saw more than {args.per_host} parallel {over}")
                return 1
            if any(row.outcome != "ok" for row in rows + ref_rows):
                bad = [r.code for r in rows + ref_rows if r.outcome != "ok"][:5]
                print(f"FAIL: some Probar runs did not pass: {bad}")
                return 1
        finally:
            ctx.close()
    finally:
        dns.__exit__(None, None, None)
        _remove(users)
        shutil.rmtree(home, ignore_errors=True)
    return 0
