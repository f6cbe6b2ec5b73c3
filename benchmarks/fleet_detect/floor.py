"""(c) Where the memory of one watched mailbox goes: the floor under FluenzR's figure.

Each layer of an IDLE session is measured alone, in a fresh process, against the shared test
Dovecot on 127.0.0.1: the process opens ``BASE`` connections, then ``count`` more, and the RSS
difference over ``count`` is the marginal cost of one connection at that layer:

- ``tcp``: a plain asyncio stream (port 10143), greeting and three CAPABILITY exchanges read;
- ``tls``: the same over TLS 1.3 (port 10993), with the one shared read buffer per event loop
  FluenzR uses (``mail/connection_memory``): what asyncio + OpenSSL keep per connection;
- ``session``: FluenzR's IMAP session (aioimaplib), logged in, INBOX selected, in IDLE;
- ``imapflow``: the reference, Node + imapflow, logged in, INBOX open, in IDLE (the scale part's
  client): its marginal figure is the one the goal halves.

The detection worker's own figure (the ``scale`` part) adds the watcher and lease state on top
of ``session``. Run: ``./dev bench fleet_detect floor [--mailboxes N]``.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import json
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.mailservers import (
    CA_FILE,
    HOST,
    IMAP_PORT,
    IMAPS_PORT,
    MailUser,
    create_users,
)

from benchmarks.detect.support import ensure_imapflow, remove_users, rss_mb, start_imapflow

BASE = 50  # connections open before the first reading: the process's fixed costs settle
LAYERS = ("tcp", "tls", "session")


def run(count: int) -> dict[str, float]:
    ensure_imapflow()
    users = create_users("bench-floor", BASE + count)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            file = Path(tmp) / "users.json"
            file.write_text(json.dumps([[u.email, u.password] for u in users]))
            figures = {layer: _child(layer, file, count) for layer in LAYERS}
            figures["imapflow"] = _imapflow(Path(tmp), users, count)
    finally:
        remove_users(users)
    _report(figures, count)
    return figures


def _child(layer: str, users: Path, count: int) -> float:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.fleet_detect.floor", layer, str(users), str(count)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"floor {layer} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def _imapflow(tmp: Path, users: list[MailUser], count: int) -> float:
    rss = []
    for size in (BASE, BASE + count):
        node = start_imapflow(tmp / f"imapflow-{size}.json", users[:size], port=IMAPS_PORT)
        try:
            time.sleep(2)
            rss.append(rss_mb(node.pid))
        finally:
            node.terminate()
            node.wait(30)
    return (rss[1] - rss[0]) * 1024 / count


def _report(figures: dict[str, float], count: int) -> None:
    ref = figures["imapflow"]
    print(f"(c) marginal memory of one connection, {count:,} connections, shared test Dovecot")
    labels = {
        "tcp": "plain TCP stream (asyncio)",
        "tls": "TLS 1.3 stream (asyncio + OpenSSL)",
        "session": "FluenzR IMAP session in IDLE (aioimaplib)",
        "imapflow": "reference: imapflow session in IDLE (Node)",
    }
    for layer, label in labels.items():
        print(f"  {label:<44} {figures[layer]:6.1f} KB")
    print(f"  goal for the whole watched mailbox: at most half the reference = {ref / 2:.1f} KB")
    tls = figures["tls"] - figures["tcp"]
    print(f"  TLS alone (tls - tcp): {tls:.1f} KB, {tls / (ref / 2):.0%} of that goal")
    client = figures["session"] - figures["tls"]
    print(f"  FluenzR's session minus the bare TLS stream: {client:+.1f} KB")


# -- the child: one layer, one process ---------------------------------------------------------


def _rss_kb() -> float:
    gc.collect()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc: give freed pages back
    if trim is not None:
        trim(0)
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024


async def _stream(layer: str, keep: list[object]) -> None:
    from fluenzr.mail.connection_memory import share_tls_read_buffer

    if layer == "tcp":
        reader, writer = await asyncio.open_connection(HOST, IMAP_PORT)
    else:
        context = ssl.create_default_context(cafile=CA_FILE)
        reader, writer = await asyncio.open_connection(
            HOST, IMAPS_PORT, ssl=context, server_hostname=HOST
        )
        share_tls_read_buffer(writer.transport)
    await reader.readline()
    for number in range(3):  # past the TLS 1.3 session tickets, like a real session
        writer.write(b"a%d CAPABILITY\r\n" % number)
        while not (await reader.readline()).startswith(b"a%d " % number):
            pass
    keep.append((reader, writer))


async def _session(email: str, password: str, keep: list[object]) -> None:
    from fluenzr.core.endpoints import Endpoint, Security, TlsPolicy
    from fluenzr.core.secret import Secret
    from fluenzr.mail.imap import connect_imap

    ca = CA_PEM
    endpoint = Endpoint(
        HOST, IMAPS_PORT, Security.SSL, email, Secret(password), TlsPolicy(ca_pem=ca)
    )
    session = await connect_imap(endpoint)
    await session.select("INBOX")
    await session.idle_start()
    keep.append(session)


CA_PEM = Path(CA_FILE).read_text() if Path(CA_FILE).exists() else ""


async def _child_main(layer: str, users: list[list[str]], count: int) -> float:
    keep: list[object] = []
    gate = asyncio.Semaphore(10)

    async def one(email: str, password: str) -> None:
        async with gate:
            if layer == "session":
                await _session(email, password, keep)
            else:
                await _stream(layer, keep)

    await asyncio.gather(*(one(*u) for u in users[:BASE]))
    await asyncio.sleep(1)
    before = _rss_kb()
    await asyncio.gather(*(one(*u) for u in users[BASE : BASE + count]))
    await asyncio.sleep(2)
    after = _rss_kb()
    return (after - before) / count


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    chosen, path, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    per_connection = asyncio.run(_child_main(chosen, json.loads(Path(path).read_text()), size))
    print(f"{per_connection:.2f}")
