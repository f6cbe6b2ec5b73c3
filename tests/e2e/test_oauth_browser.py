"""OAuth in the browser: "Conectar con Google" → the local authorization server's consent page →
account created → Probar all green; the grant is revoked → the next send pauses the account
with ``reconnect_required`` → "Reconectar" restores it and the message goes out."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import email_validator
import pytest

from fluenzr.config import load_settings
from fluenzr.services import outbox
from fluenzr.services.context import AppContext, open_app
from fluenzr.services.credential_binding import smtp_context
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.outbox import OutboxMessage
from tests.e2e.server import serve, set_up_admin_in_browser
from tests.support import oauth_server
from tests.support.mailservers import create_user, wait_for_message

pytestmark = [pytest.mark.browser, pytest.mark.mailserver]
STEP_TIMEOUT = 60_000


@pytest.fixture(scope="module")
def oauth_app(
    tmp_path_factory: pytest.TempPathFactory,
    _empty_dns: int,
    _migrated_templates: dict[str, str],
) -> Iterator[AppContext]:
    oauth_server.ensure_oauth_mailservers()
    saved = email_validator.TEST_ENVIRONMENT
    email_validator.TEST_ENVIRONMENT = True
    home = tmp_path_factory.mktemp("oauth-web-home")
    # A copy of the session's migrated database: no migrations for this module.
    shutil.copyfile(_migrated_templates["sqlite"], home / "fluenzr.db")
    settings = load_settings(
        home=home,
        database_url=f"sqlite:///{home / 'fluenzr.db'}",
        # Module scope: aimed at the empty local DNS server here, not by the per-test environment.
        dns_servers=f"127.0.0.1:{_empty_dns}",
        **oauth_server.fluenzr_settings(test_mail_wait=20.0),
    )
    ctx = open_app(settings)
    try:
        yield ctx
    finally:
        ctx.close()
        email_validator.TEST_ENVIRONMENT = saved


@pytest.fixture(scope="module")
def oauth_url(oauth_app: AppContext) -> Iterator[str]:
    with serve(oauth_app, role="all") as url:
        yield url


def _until(check: Any, *, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached")


def _consent(page: Any) -> None:
    page.wait_for_url(re.compile(r"127\.0\.0\.1:10980/authorize"), timeout=10_000)
    page.get_by_role("button", name="Allow").click()


def test_connect_probar_revoke_reconnect(
    browser: Any, oauth_url: str, oauth_app: AppContext, mailserver: None
) -> None:
    ctx = oauth_app
    user, peer = create_user("browseroauth"), create_user("browserpeer")
    context = browser.new_context(base_url=oauth_url, locale="es-ES")
    page = context.new_page()
    page.goto("/")
    set_up_admin_in_browser(page)

    page.get_by_label("Email de la cuenta").fill(user.email)
    page.get_by_role("button", name="Conectar con Google").click()
    _consent(page)
    page.wait_for_url(re.compile(r"/accounts/\d+\?connected=1"))
    account_id = int(re.findall(r"/accounts/(\d+)", page.url)[0])
    assert user.email in page.content()

    page.get_by_role("button", name="Probar").click()
    page.wait_for_selector("#probar[aria-busy='false']", timeout=STEP_TIMEOUT)
    steps = page.locator("#probar li.step")
    assert steps.count() >= 7, page.locator("#probar").inner_text()
    # The connection steps pass; the deliverability steps report the empty test zone's findings.
    connection = "#probar li.step:not(.deliv)"
    assert page.locator(f"{connection}.failed, {connection}.skipped").count() == 0

    with ctx.sessions() as session:
        row = session.get(Account, account_id)
        assert row is not None
        refresh = ctx.vault.open(row.smtp_password_sealed, context=smtp_context(row)).reveal()
        workspace_id = row.workspace_id
    assert refresh not in page.content()
    with transaction(ctx.sessions) as session:  # no pacing wait in a test
        paced = session.get(Account, account_id)
        assert paced is not None
        paced.min_interval = paced.max_interval = 0
    oauth_server.revoke(refresh)
    request = outbox.SendRequest(
        account_id=account_id, to=[peer.email], subject="tras revocar", text="Hola"
    )
    sent = outbox.enqueue(ctx, workspace_id=workspace_id, request=request)

    def reason() -> str | None:
        with ctx.sessions() as session:
            current = session.get(Account, account_id)
            return current.status_reason if current else None

    assert _until(lambda: reason() == "reconnect_required")
    page.goto(f"/accounts/{account_id}")
    page.get_by_role("button", name="Reconectar").click()
    _consent(page)
    page.wait_for_url(re.compile(rf"/accounts/{account_id}\?connected=1"))

    def status() -> str | None:
        with ctx.sessions() as session:
            message = session.get(OutboxMessage, sent.id)
            return message.status if message and message.status == "sent" else None

    assert _until(status, seconds=60)
    assert wait_for_message(peer, subject="tras revocar")
    context.close()
