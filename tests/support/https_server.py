"""A small HTTPS server on 127.0.0.1 (port 0) serving fixed documents by host name and path.

Its certificate comes from a trustme CA and names every host it serves, so clients verify it
for real. :meth:`LocalHttps.client` returns an httpx client whose requests for any host go to
this server, with SNI and the Host header kept (the "connect to 127.0.0.1" seam for autodetect).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import httpx
import trustme

# (host, path) → (status, body)
Documents = Mapping[tuple[str, str], tuple[int, str]]


class LocalHttps:
    def __init__(self, documents: Documents, *, hosts: list[str] | None = None) -> None:
        self.documents = dict(documents)
        self.hosts = hosts or sorted({host for host, _ in documents})
        self.ca = trustme.CA()
        self.requests: list[tuple[str, str]] = []  # (host, path with query)
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def client(self, *, timeout: float = 2.0) -> httpx.AsyncClient:
        transport = _ToLoopback(self.port, verify=self.client_context())
        return httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False)

    def __enter__(self) -> LocalHttps:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").split(":")[0]
                outer.requests.append((host, self.path))
                status, body = outer.documents.get((host, self.path.split("?")[0]), (404, ""))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*self.hosts).configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _ToLoopback(httpx.AsyncBaseTransport):
    """Send every request to 127.0.0.1:<port>, keeping the original name for SNI and Host."""

    def __init__(self, port: int, *, verify: ssl.SSLContext) -> None:
        self._port = port
        self._inner = httpx.AsyncHTTPTransport(verify=verify)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        request.url = request.url.copy_with(host="127.0.0.1", port=self._port)
        request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
