"""The one-shot loopback listener `fluenzr accounts connect` receives the OAuth redirect on.

Its own module so that only that command imports ``http.server`` (with ``http.client``, ``ssl``
and ``email``: about 0.05 s of start-up every other command would pay).
"""

from __future__ import annotations

import http.server
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_QUERY = 8192


class Catcher(http.server.BaseHTTPRequestHandler):
    """Receives exactly the redirect: ``GET /?code=…&state=…`` (anything else: 404)."""

    result: dict[str, str] | None = None
    done_text = "OK"

    def do_GET(self) -> None:
        parts = urlsplit(self.path[:MAX_QUERY])
        query = {k: v[0] for k, v in parse_qs(parts.query).items() if v}
        if parts.path != "/" or "state" not in query:
            self.send_error(404)
            return
        type(self).result = query
        body = self.done_text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the query carries the code: never logged


def listen(port: int, handler: type[Catcher]) -> http.server.HTTPServer:
    """A server on ``127.0.0.1:port`` (0: any free port) that answers with ``handler``."""
    server = http.server.HTTPServer(("127.0.0.1", port), handler)
    server.timeout = 1.0
    return server


def wait_for_answer(server: http.server.HTTPServer, handler: type[Catcher], seconds: float) -> None:
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        while handler.result is None and not stop.is_set():
            server.handle_request()
    finally:
        timer.cancel()
