"""httpx clients whose every connection goes through the egress policy.

A custom httpcore network backend resolves the name once (``fluenzr.mail.egress``), refuses
forbidden answers, connects to the checked *address* and checks the connected peer; TLS still
verifies the certificate against the URL's host name (httpcore passes it as SNI). Redirects are
never followed: a 30x could point anywhere, including where the policy forbids.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from fluenzr.core.egress import EgressPolicy, Purpose
from fluenzr.mail.egress import EgressRefused, check_peer, resolve_checked


class EgressBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, *, policy: EgressPolicy, purpose: Purpose) -> None:
        self._policy = policy
        self._purpose = purpose
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        async with asyncio.timeout(timeout):
            addresses = await resolve_checked(
                host, port, policy=self._policy, purpose=self._purpose
            )
        stream = await self._inner.connect_tcp(
            addresses[0],
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )
        try:
            check_peer(
                stream.get_extra_info("socket"),
                host=host,
                policy=self._policy,
                purpose=self._purpose,
            )
        except BaseException:
            await stream.aclose()
            raise
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused(path, path, "unix_socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def egress_client(
    *, policy: EgressPolicy, purpose: Purpose, timeout: httpx.Timeout | float
) -> httpx.AsyncClient:
    """An AsyncClient that only reaches what ``policy`` allows and never follows redirects.

    ``trust_env=False``: an HTTP(S)_PROXY variable would move the connection to the proxy and
    out of the policy's sight."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx has no public hook for the network backend; its pool is httpcore's.
    transport._pool._network_backend = EgressBackend(policy=policy, purpose=purpose)
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )


__all__ = ["EgressBackend", "egress_client"]
