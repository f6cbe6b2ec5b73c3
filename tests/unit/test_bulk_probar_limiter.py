"""The bulk Probar limiter on its own (no I/O): per-host and overall bounds, no deadlock when
accounts share hosts, and a busy host never holding back an idle one."""

from __future__ import annotations

import asyncio

from fluenzr.services.bulk_probar_run import HostLimiter, host_key, summary


async def test_a_busy_host_never_holds_back_an_idle_one() -> None:
    limiter = HostLimiter(per_host=2, overall=3)
    release = asyncio.Event()
    three_inside = asyncio.Event()
    inside: dict[str, int] = {}

    async def hold(host: str) -> None:
        async with limiter.hold([host]):
            inside[host] = inside.get(host, 0) + 1
            if sum(inside.values()) == 3:
                three_inside.set()
            await release.wait()

    busy = [asyncio.create_task(hold("a.example")) for _ in range(10)]
    await asyncio.sleep(0)
    idle = asyncio.create_task(hold("b.example"))
    await asyncio.wait_for(three_inside.wait(), 5)
    assert inside == {"a.example": 2, "b.example": 1}  # 2 of a (its limit), b at once
    release.set()
    await asyncio.gather(*busy, idle)
    assert limiter.max_seen == {"a.example": 2, "b.example": 1}


async def test_overlapping_host_sets_finish_and_respect_both_bounds() -> None:
    limiter = HostLimiter(per_host=1, overall=2)
    order = [("smtp.x", "imap.x"), ("imap.x", "smtp.x"), ("smtp.x",), ("imap.x", "other")] * 5
    done = 0

    async def one(hosts: tuple[str, ...]) -> None:
        nonlocal done
        async with limiter.hold(hosts):
            await asyncio.sleep(0)
            done += 1

    await asyncio.wait_for(asyncio.gather(*(one(h) for h in order)), 5)
    assert done == len(order)
    assert max(limiter.max_seen.values()) == 1


def test_host_names_and_summary() -> None:
    assert host_key(" SMTP.Example.COM. ") == "smtp.example.com"
    assert host_key("") is None and host_key(None) is None
    assert summary(["ok", "failed", "ok", "weird"]) == {
        "ok": 2,
        "throttled": 0,
        "failed": 2,
        "pending": 0,
    }
