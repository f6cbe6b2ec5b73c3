"""Unit tests do no network I/O, so `./dev test tests/unit` never needs a service.

Any TCP/UDP connection a unit test makes, loopback included, is refused and fails the test:
such a test belongs in tests/integration.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

_INET = (socket.AF_INET, socket.AF_INET6)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    tried: list[str] = []
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(self: socket.socket, address: Any) -> None:
        if self.family in _INET:
            tried.append(f"connect({address!r})")
            raise ConnectionRefusedError("unit tests do no network I/O")
        connect(self, address)

    def refuse_ex(self: socket.socket, address: Any) -> int:
        if self.family in _INET:
            tried.append(f"connect_ex({address!r})")
            return 111
        return connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_ex)
    yield
    assert not tried, f"a unit test tried the network (move it to tests/integration): {tried}"
