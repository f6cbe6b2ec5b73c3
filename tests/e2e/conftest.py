"""Browser tests: Playwright driving Debian's chromium headless against a real FluenzR server.

One browser per session; one server (SQLite, sending system in-process) per module.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import email_validator
import pytest

from fluenzr.config import load_settings
from fluenzr.services.context import AppContext, open_app
from tests.e2e.server import serve
from tests.support.services import unavailable

CHROMIUM = os.environ.get("FLUENZR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Package scope, not session: Playwright's sync API keeps an asyncio loop running while it is
# open, which would break every asyncio test collected after tests/e2e.
@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        unavailable("chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def web_app(
    tmp_path_factory: pytest.TempPathFactory,
    _empty_dns: int,
    _migrated_templates: dict[str, str],
) -> Iterator[AppContext]:
    # The shared test mail domain is the reserved ``.test``: allow it for this process only.
    saved = email_validator.TEST_ENVIRONMENT
    email_validator.TEST_ENVIRONMENT = True
    home = tmp_path_factory.mktemp("web-home")
    # A copy of the session's migrated database: no migrations per module.
    shutil.copyfile(_migrated_templates["sqlite"], home / "fluenzr.db")
    # Module scope: built before the per-test FLUENZR_DNS_SERVERS, so aimed at the empty local
    # DNS server here (Probar's deliverability steps never reach the system resolver).
    ctx = open_app(
        load_settings(
            home=home,
            database_url=f"sqlite:///{home / 'fluenzr.db'}",
            dns_servers=f"127.0.0.1:{_empty_dns}",
        )
    )
    try:
        yield ctx
    finally:
        ctx.close()
        email_validator.TEST_ENVIRONMENT = saved


@pytest.fixture(scope="module")
def base_url(web_app: AppContext) -> Iterator[str]:
    with serve(web_app, role="all") as url:
        yield url
