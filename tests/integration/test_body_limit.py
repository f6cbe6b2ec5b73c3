"""Request bodies are capped before parsing and before authentication, over a real socket to
uvicorn: a huge declared Content-Length is refused at once, a chunked body as soon as it goes
over the cap — the server answers 413 while the client is still sending."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from fluenzr.services.context import AppContext
from tests.e2e.server import admin, serve

CAP = 1_048_576  # the default max_body_bytes


@pytest.fixture
def base_url(app: AppContext) -> Iterator[str]:
    with serve(app, sending=False) as url:
        yield url


def _connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    return socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=20)


def _read_response(sock: socket.socket) -> bytes:
    """Everything the server says until it closes (it must: the body was left unread)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_declared_length_over_the_cap_is_refused_unread(base_url: str) -> None:
    with _connect(base_url) as sock:
        head = (
            "POST /api/v1/accounts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {10**12}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"{" + b" " * 100)  # 101 of the 10^12 bytes announced
        reply = _read_response(sock)
    status = reply.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"connection: close" in reply.lower() and b'"request_body_too_large"' in reply


def test_chunked_body_is_cut_off_while_still_sending(base_url: str) -> None:
    planned = 64 * CAP  # far more than any socket buffer could swallow
    chunk = b"a" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with _connect(base_url) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: test\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sock.setblocking(False)
        pending = b""
        answered = False
        while sent < planned:
            readable, writable, _ = select.select([sock], [sock], [], 20)
            if readable:
                answered = True
                break
            if not writable:
                break
            pending = pending or frame
            try:
                written = sock.send(pending)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:  # the server closed after answering: read what it said
                answered = True
                break
            pending = pending[written:]
            sent += written
        assert answered, "no answer while the body was still being sent"
        sock.setblocking(True)
        reply = _read_response(sock)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"connection: close" in reply.lower()
    # The server stopped reading soon after the cap; the rest never had to be sent.
    assert CAP < sent < 16 * CAP, sent


def test_within_the_cap_works_and_the_cap_comes_before_authentication(
    base_url: str, app: AppContext
) -> None:
    caller = admin(app)
    big = {"email": "a@example.com", "display_name": "x" * (CAP + 10)}
    with httpx.Client(base_url=base_url, timeout=30) as http:
        # No credentials at all: still 413, the body is refused before anyone is authenticated.
        anonymous = http.post("/api/v1/accounts", json=big)
        assert anonymous.status_code == 413
        assert anonymous.json()["code"] == "request_body_too_large"
        authed = http.post("/api/v1/accounts", json=big, headers=caller.headers)
        assert authed.status_code == 413
        small = http.post("/api/v1/accounts", json={"email": "a"}, headers=caller.headers)
        assert small.status_code == 422  # parsed and validated as usual
        # A message to send may be larger than a form (its own, bigger cap).
        mail = {"account_id": 1, "to": "b@example.com", "subject": "s", "text": "y" * (CAP + 10)}
        outbox = http.post("/api/v1/outbox", json=mail, headers=caller.headers)
        assert outbox.status_code != 413
        form = http.post("/login", data={"csrf": "x", "email": "e" * (CAP + 10)})
        assert form.status_code == 413
