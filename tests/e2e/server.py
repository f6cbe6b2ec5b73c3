"""A real FluenzR HTTP server on 127.0.0.1 (port 0) in a thread, for API and browser tests."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from fluenzr.core.secret import Secret
from fluenzr.diagnose.autodetect import AutodetectSeams
from fluenzr.diagnose.greeting_probe import GreetingProbe
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.server import create_app
from fluenzr.services import tokens, users
from fluenzr.services.context import AppContext
from tests.support.dns_server import LocalDns
from tests.support.https_server import LocalHttps

ADMIN_EMAIL = "admin@fluenzr.test"
ADMIN_PASSWORD = "correct horse battery"


@contextmanager
def loopback_autodetect() -> Iterator[AutodetectSeams]:
    """Autodetect aimed at an empty local DNS server and HTTPS server: nothing leaves 127.0.0.1
    (presets still answer; unknown domains find nothing)."""
    with LocalDns({}) as dns, LocalHttps({}, hosts=["autoconfig.invalid"]) as https:
        lookup = DnsLookup(dns.resolver(timeout=1.0), timeout=1.0)
        yield AutodetectSeams(
            lookup=lookup,
            http=lambda: https.client(timeout=1.0),
            probe=GreetingProbe(lookup=lookup, timeout=1.0),
            timeout=1.0,
        )


@contextmanager
def serve(ctx: AppContext, *, role: str = "all", sending: bool | None = None) -> Iterator[str]:
    """Serve the app over real HTTP; yields its base URL."""
    with (
        loopback_autodetect() as seams,
        _serve(ctx, role=role, sending=sending, seams=seams) as url,
    ):
        yield url


@contextmanager
def _serve(
    ctx: AppContext, *, role: str, sending: bool | None, seams: AutodetectSeams
) -> Iterator[str]:
    app = create_app(
        ctx, role="web" if role == "web" else "all", sending=sending, autodetect_seams=seams
    )
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fluenzr-test-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test HTTP server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@dataclass(frozen=True)
class Caller:
    user_id: int
    workspace_id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def csrf_of(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "form without CSRF token"
    return found.group(1)


def set_up_admin_over_http(http: Any) -> Any:
    """Post the first visit's setup form (an httpx client): the admin, signed in; the reply."""
    page = http.get("/setup")
    return http.post(
        "/setup",
        data={
            "csrf": csrf_of(page.text),
            "email": ADMIN_EMAIL,
            "name": "A",
            "password": ADMIN_PASSWORD,
        },
    )


def set_up_admin_in_browser(tab: Any) -> None:
    """Fill the first visit's setup page (Spanish labels) and wait for the accounts page."""
    tab.get_by_label("Email").fill(ADMIN_EMAIL)
    tab.get_by_label("Nombre").fill("Admin")
    tab.get_by_label("Contraseña").fill(ADMIN_PASSWORD)
    tab.get_by_role("button", name="Crear administrador").click()
    tab.wait_for_url(re.compile(r"/accounts$"))


def admin(ctx: AppContext) -> Caller:
    """The first user (as the setup page would create it) with an API token."""
    user = users.setup_admin(ctx, email=ADMIN_EMAIL, name="Admin", password=Secret(ADMIN_PASSWORD))
    workspace = users.workspaces_of(ctx, user.id)[0].id
    _view, secret = tokens.create_token(ctx, user_id=user.id, workspace_id=workspace, name="t")
    return Caller(user.id, workspace, user.email, secret.reveal())


def other_user(ctx: AppContext, email: str = "other@fluenzr.test") -> Caller:
    """A second user in a workspace of their own."""
    user, workspace = users.create_user(
        ctx, email=email, password=Secret(ADMIN_PASSWORD), new_workspace="Other"
    )
    _view, secret = tokens.create_token(ctx, user_id=user.id, workspace_id=workspace, name="t")
    return Caller(user.id, workspace, user.email, secret.reveal())
