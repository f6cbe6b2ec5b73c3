"""Bulk Probar in the browser: "Probar todas" on five mailboxes of the local Postfix/Dovecot,
the rows turning green (one red: a wrong password) live on one page, then the bell."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from fluenzr.core.secret import Secret
from fluenzr.services import accounts, users
from fluenzr.services.account_config import AccountInput
from fluenzr.services.context import AppContext
from tests.e2e.server import ADMIN_EMAIL, set_up_admin_in_browser
from tests.support.mailservers import IMAPS_PORT, SUBMISSION_PORT, ca_pem, create_users

pytestmark = [pytest.mark.browser, pytest.mark.mailserver]
RUN_TIMEOUT = 90_000  # ms: five Probar runs, each sending a real mail and waiting for it


@pytest.fixture(scope="module")
def page(browser: Any, base_url: str, web_app: AppContext) -> Any:
    context = browser.new_context(base_url=base_url, locale="es-ES")
    tab = context.new_page()
    tab.goto("/")
    set_up_admin_in_browser(tab)
    yield tab
    context.close()


def _account(ctx: AppContext, workspace: int, email: str, password: str) -> int:
    return accounts.create_account(
        ctx,
        workspace_id=workspace,
        data=AccountInput(
            email=email,
            smtp_host="127.0.0.1",
            smtp_port=SUBMISSION_PORT,
            smtp_security="starttls",
            password=Secret(password),
            imap_host="127.0.0.1",
            imap_port=IMAPS_PORT,
            imap_security="ssl",
            smtp_ca_pem=ca_pem(),
            imap_ca_pem=ca_pem(),
        ),
    ).id


def test_probar_todas_turns_rows_green_live(
    page: Any, web_app: AppContext, mailserver: None
) -> None:
    workspace = users.workspaces_of(web_app, users.user_by_email(web_app, ADMIN_EMAIL).id)[0].id
    mailboxes = create_users("bulkweb", 5)
    good = [_account(web_app, workspace, m.email, m.password) for m in mailboxes[:4]]
    bad = _account(web_app, workspace, mailboxes[4].email, "not the password")
    # One wave of five (the per-host bound itself is proven in tests/integration): a faster test.
    web_app.settings = web_app.settings.model_copy(update={"probar_per_host_concurrency": 5})

    page.goto("/accounts")
    page.get_by_role("button", name="Probar todas").click()
    page.wait_for_url(re.compile(r"/accounts/test-bulk/\d+$"))
    address = page.url
    panel = page.locator("#bulk-probar")
    expect(panel.locator("tbody tr")).to_have_count(5)
    assert panel.get_attribute("aria-busy") == "true"  # still running when the page opened

    expect(panel).to_have_attribute("aria-busy", "false", timeout=RUN_TIMEOUT)
    assert page.url == address  # the rows changed in place: no reload, no navigation
    for account_id in good:
        row = panel.locator(f"tr[data-account='{account_id}']")
        expect(row).to_have_attribute("data-outcome", "ok")
        expect(row.locator(".badge")).to_have_text("Correcta")
    failed = panel.locator(f"tr[data-account='{bad}']")
    expect(failed).to_have_attribute("data-outcome", "failed")
    expect(panel.locator(".bulk-summary [data-outcome='ok'] .total")).to_have_text("4")
    expect(panel.locator(".bulk-summary [data-outcome='failed'] .total")).to_have_text("1")
    expect(panel).to_contain_text("5 de 5 probadas")
    assert "not the password" not in page.content()

    failed.get_by_role("link").click()  # each row opens its account
    page.wait_for_url(re.compile(rf"/accounts/{bad}$"))
    page.goto("/notifications")
    expect(page.locator(".notification.kind-bulk_done").first).to_contain_text(
        "Prueba masiva terminada: 4 correctas, 1 con errores"
    )
    page.locator(".notification.kind-bulk_done a").first.click()
    page.wait_for_url(address)
