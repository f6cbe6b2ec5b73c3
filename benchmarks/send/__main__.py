"""`./dev bench send [--messages N] [--accounts 10 100] [--db sqlite postgres] [--smoke]`.

The whole FluenzR pipeline — enqueue (validation, MIME, insert) → worker (claim, SMTP, state
updates) — with limits off, to Postfix's ``smtp-sink`` on 127.0.0.1; in the same run the same
messages through Nodemailer's pooled transport and Postfix's ``smtp-source`` (the practical
limit). Figures: messages per second (wall) and messages per client CPU-second (client and
sink share the machine's cores, so CPU-seconds are the fair unit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
BODY = (
    "Hola,\n\n"
    + "Te escribo porque vi que vuestro equipo está creciendo y quería proponerte algo breve. " * 2
    + "\n\n"
    + "\n".join(
        f"- Punto {n}: una línea de texto normal para un correo en frío." for n in range(28)
    )
    + "\n\nUn saludo,\nAna\n"
)  # about 2.2 KB, like the performance anchors


@dataclass
class Figure:
    name: str
    messages: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def per_cpu(self) -> float:
        return self.messages / self.cpu if self.cpu else float("inf")


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_sink() -> Iterator[int]:
    sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    port = _free_port()
    args = [sink, "-a", "-c", "-u", "nobody", f"127.0.0.1:{port}", "1024"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        yield port
    finally:
        process.terminate()
        process.wait()


def ensure_nodemailer() -> None:
    if (HERE / "node_modules" / "nodemailer").exists():
        return
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed for the Nodemailer reference (apt-get install -y npm)")
    subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=HERE, check=True)


def run_nodemailer(port: int, *, connections: int, messages: int) -> Figure:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as body:
        body.write(BODY)
        body.flush()
        out = subprocess.run(
            ["node", str(HERE / "nodemailer_send.mjs"), str(port), str(connections),
             str(messages), body.name],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return Figure(f"Nodemailer pool ({connections} conn.)", messages, data["seconds"], data["cpu"])


def run_smtp_source(port: int, *, connections: int, messages: int) -> Figure:
    source = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    cpu0, started = _cpu_children(), time.perf_counter()
    subprocess.run(
        [source, "-c", "-l", str(len(BODY.encode())), "-m", str(messages), "-s",
         str(connections), "-f", "ana@example.com", "-t", "bob@example.org",
         f"127.0.0.1:{port}"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - started, _cpu_children() - cpu0
    return Figure(f"smtp-source ({connections} conn.)", messages, seconds, cpu)


def run_fluenzr(port: int, *, accounts: int, messages: int, database: str) -> list[Figure]:
    from benchmarks.send.pipeline import fluenzr_pipeline

    return fluenzr_pipeline(port, accounts=accounts, messages=messages, database=database)


def print_table(rows: list[Figure], *, nodemailer: Figure) -> None:
    print(f"\n{'sender':<46} {'msgs':>6} {'msgs/s':>9} {'msgs/CPU-s':>11} {'×Nodemailer/CPU':>16}")
    for row in rows:
        ratio = row.per_cpu / nodemailer.per_cpu
        print(
            f"{row.name:<46} {row.messages:>6} {row.rate:>9,.0f} {row.per_cpu:>11,.0f} "
            f"{ratio:>15.2f}×"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench send")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--accounts", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.messages, args.accounts = 20, [2]
    ensure_nodemailer()
    with smtp_sink() as port:
        for accounts in args.accounts:
            rows: list[Figure] = []
            for database in args.db:
                rows += run_fluenzr(
                    port, accounts=accounts, messages=args.messages, database=database
                )
            node = run_nodemailer(port, connections=accounts, messages=args.messages)
            rows.append(node)
            rows.append(run_smtp_source(port, connections=accounts, messages=args.messages))
            print(f"\n== {accounts} accounts / connections, {args.messages} messages of "
                  f"{len(BODY.encode())} bytes, smtp-sink on 127.0.0.1 ==")  # fmt: skip
            print_table(rows, nodemailer=node)
    asyncio.set_event_loop_policy(None)
    return 0
