"""Connection setup bounded and staggered per server host.

A worker that starts with 1,000 mailboxes on one provider must not open 1,000 TLS handshakes
and logins at once: providers see that as abuse (and Dovecot's login processes queue them).
At most ``per_host`` connections are being set up to one host at a time, and two starts to one
host are at least ``stagger`` seconds apart. Established IDLE connections do not hold a slot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class HostGate:
    def __init__(self, *, per_host: int, stagger: float) -> None:
        self.per_host = max(per_host, 1)
        self.stagger = max(stagger, 0.0)
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self.setting_up: dict[str, int] = {}  # connections being set up now, per host
        self.peak: dict[str, int] = {}  # most ever set up at once, per host (tests, benchmarks)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        key = host.strip().lower()
        semaphore = self._slots.setdefault(key, asyncio.Semaphore(self.per_host))
        async with semaphore:
            now = time.monotonic()
            start = max(now, self._next_start.get(key, 0.0))
            self._next_start[key] = start + self.stagger
            if start > now:
                await asyncio.sleep(start - now)
            self.setting_up[key] = self.setting_up.get(key, 0) + 1
            self.peak[key] = max(self.peak.get(key, 0), self.setting_up[key])
            try:
                yield
            finally:
                self.setting_up[key] -= 1
