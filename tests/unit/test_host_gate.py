"""Connection set-up per server host: at most N at once per host, hosts independent."""

from __future__ import annotations

import asyncio
import itertools

from fluenzr.detection.host_gate import HostGate


async def test_at_most_n_setups_per_host_at_once() -> None:
    gate = HostGate(per_host=2, stagger=0.0)
    release = asyncio.Event()
    inside: list[str] = []

    async def connect(host: str) -> None:
        async with gate.slot(host):
            inside.append(host)
            await release.wait()

    tasks = [asyncio.create_task(connect("IMAP.example.com")) for _ in range(6)]
    tasks += [asyncio.create_task(connect("imap.other.test")) for _ in range(3)]
    for _ in range(50):  # every task has had its turn: two per host got in, the rest wait
        await asyncio.sleep(0)
    assert sorted(inside) == ["IMAP.example.com"] * 2 + ["imap.other.test"] * 2
    assert gate.setting_up == {"imap.example.com": 2, "imap.other.test": 2}
    release.set()
    await asyncio.gather(*tasks)
    assert gate.peak == {"imap.example.com": 2, "imap.other.test": 2}
    assert gate.setting_up == {"imap.example.com": 0, "imap.other.test": 0}


async def test_starts_to_one_host_are_staggered() -> None:
    gate = HostGate(per_host=10, stagger=0.02)
    loop = asyncio.get_running_loop()
    started: list[float] = []

    async def connect() -> None:
        async with gate.slot("imap.example.com"):
            started.append(loop.time())

    await asyncio.gather(*(connect() for _ in range(4)))
    gaps = [b - a for a, b in itertools.pairwise(started)]
    assert all(gap >= 0.015 for gap in gaps)  # the loop's clock: never earlier than scheduled
