"""`./dev bench probar [--runs N] [--no-blackhole] [--smoke]`.

Probar against the local Postfix + Dovecot, side by side with swaks doing the SMTP part of the
same work, and the time to report a blackholed port. ``--smoke``: one run, 1 s timeout.

Rows (median and p95 wall time over N runs, default 20):

- ``probar smtp``: DNS, TCP, STARTTLS, EHLO, AUTH, one message to self (no IMAP) — the same
  work as the swaks row;
- ``swaks``: ``swaks --tls --tls-verify --auth PLAIN`` one message to self (Debian's swaks);
- ``probar full``: the SMTP part plus IMAP (TLS, LOGIN, the message found in INBOX, Sent);
- ``probar blackhole`` / ``swaks blackhole``: a local port that accepts TCP and never speaks,
  each with a 10 s timeout (Probar's default ``smtp_timeout``; swaks ``--timeout 10``). These
  runs are started concurrently (each still waits its own timeout), to keep the wall time short.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import secrets
import socket
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.support.mailservers import (
    CA_FILE,
    HOST,
    IMAPS_PORT,
    SUBMISSION_PORT,
    MailUser,
    create_user,
    require_mailserver,
)

from fluenzr.config import load_settings
from fluenzr.core.endpoints import Endpoint, MailboxCredentials, Security, TlsPolicy
from fluenzr.diagnose.probar import ProbarSeams, default_seams, probe_mailbox

TIMEOUT = 10.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _credentials(user: MailUser, *, port: int, imap: bool) -> MailboxCredentials:
    tls = TlsPolicy(ca_pem=Path(CA_FILE).read_text())
    smtp = Endpoint(HOST, port, Security.STARTTLS, user.email, user.secret, tls)
    imap_endpoint = Endpoint(HOST, IMAPS_PORT, Security.SSL, user.email, user.secret, tls)
    return MailboxCredentials(0, 0, user.email, "Bench", smtp, imap_endpoint if imap else None)


# CPU seconds of the client per run (the servers share the two cores; wall time alone is noisy).
CPU: dict[str, list[float]] = {}


async def _probar_once(
    creds: MailboxCredentials, seams: ProbarSeams, *, alone: bool = True
) -> float:
    started, cpu = time.perf_counter(), time.process_time()
    report = await probe_mailbox(creds, send=True, seams=seams, now=_now)
    elapsed = time.perf_counter() - started
    if alone:  # process CPU is only attributable to one run when runs do not overlap
        key = f"probar {'full' if creds.imap else 'smtp'}"
        CPU.setdefault(key, []).append(time.process_time() - cpu)
    if creds.smtp.port == SUBMISSION_PORT and not report.ok:
        raise SystemExit(f"probar failed: {report.to_dict().get('error')}")
    return elapsed


def _swaks_args(user: MailUser, port: int) -> list[str]:
    return [
        "swaks",
        "--server",
        f"{HOST}:{port}",
        "--tls",
        "--tls-verify",
        "--tls-ca-path",
        CA_FILE,
        "--auth",
        "PLAIN",
        "--auth-user",
        user.email,
        "--auth-password",
        user.password,
        "--from",
        user.email,
        "--to",
        user.email,
        "--timeout",
        str(int(TIMEOUT)),
        "--silent",
        "2",
    ]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _swaks_once(user: MailUser, port: int, *, expect_ok: bool) -> float:
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(_swaks_args(user, port), capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if expect_ok:
        CPU.setdefault("swaks", []).append(_children_cpu() - cpu)
    if expect_ok and done.returncode != 0:
        raise SystemExit(f"swaks failed: {done.stderr.decode(errors='replace')[-300:]}")
    return elapsed


async def _series(runs: int, once: Callable[[], Awaitable[float]]) -> list[float]:
    return [await once() for _ in range(runs)]


def _blackhole() -> socket.socket:
    """A listening socket nobody accepts from: the kernel completes the handshake, then silence."""
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen(256)
    return sock


async def _blackhole_rows(user: MailUser, runs: int) -> dict[str, list[float]]:
    hole = _blackhole()
    port = int(hole.getsockname()[1])
    try:
        seams = default_seams(load_settings(smtp_timeout=TIMEOUT))
        creds = _credentials(user, port=port, imap=False)
        probar = asyncio.gather(*(_probar_once(creds, seams, alone=False) for _ in range(runs)))
        swaks = asyncio.gather(
            *(asyncio.to_thread(_swaks_once, user, port, expect_ok=False) for _ in range(runs))
        )
        probar_times, swaks_times = await asyncio.gather(probar, swaks)
    finally:
        hole.close()
    return {"probar blackhole": list(probar_times), "swaks blackhole": list(swaks_times)}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _print(rows: dict[str, list[float]], runs: int) -> None:
    print(f"\nProbar benchmark, {runs} runs each, local Postfix + Dovecot")
    print(f"{'':<20}{'wall median':>14}{'wall p95':>12}{'client CPU median':>20}")
    for name, values in rows.items():
        median, p95 = statistics.median(values), _p95(values)
        cpu = CPU.get(name)
        cpu_text = f"{statistics.median(cpu) * 1000:>18.1f}ms" if cpu else f"{'—':>20}"
        print(f"{name:<20}{median * 1000:>12.1f}ms{p95 * 1000:>10.1f}ms{cpu_text}")


async def _run(runs: int, *, blackhole: bool) -> dict[str, list[float]]:
    # swaks reads any argument that starts with "-" as an option, even after --auth-password
    # (and from SWAKS_OPT_auth_password): a random password must not start with one.
    user = create_user("bench-probar", password="p" + secrets.token_urlsafe(12))
    seams = default_seams(load_settings(smtp_timeout=TIMEOUT, test_mail_wait=20))
    smtp_only = _credentials(user, port=SUBMISSION_PORT, imap=False)
    full = _credentials(user, port=SUBMISSION_PORT, imap=True)
    await _probar_once(smtp_only, seams)  # warm-up (imports, first TLS handshake)
    CPU.clear()
    rows = {
        "probar smtp": await _series(runs, lambda: _probar_once(smtp_only, seams)),
        "swaks": [
            await asyncio.to_thread(_swaks_once, user, SUBMISSION_PORT, expect_ok=True)
            for _ in range(runs)
        ],
        "probar full": await _series(runs, lambda: _probar_once(full, seams)),
    }
    if blackhole:
        rows.update(await _blackhole_rows(user, runs))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench probar")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-blackhole", action="store_true", help="skip the ~20 s blackhole rows")
    parser.add_argument("--smoke", action="store_true", help="one run, 1 s blackhole timeout (CI)")
    args = parser.parse_args(argv)
    if args.smoke:
        global TIMEOUT  # the one knob every row reads
        args.runs, TIMEOUT = 1, 1.0
    require_mailserver()
    rows = asyncio.run(_run(args.runs, blackhole=not args.no_blackhole))
    _print(rows, args.runs)
    return 0
