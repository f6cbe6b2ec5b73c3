"""The account form in the browser (issue #16, point 3): a well-known port switches the
encryption with a note, a port/encryption mismatch is flagged while typing, and a rejected
form keeps every value (the password server-side) with each error next to its field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from fluenzr.services import accounts, users
from fluenzr.services.context import AppContext
from tests.e2e.server import ADMIN_EMAIL, set_up_admin_in_browser

pytestmark = [pytest.mark.browser]
SMTP_PASSWORD = "Typed-Once-Only-91"


@pytest.fixture(scope="module")
def page(browser: Any, base_url: str) -> Any:
    context = browser.new_context(base_url=base_url, locale="es-ES")
    tab = context.new_page()
    tab.goto("/setup")
    set_up_admin_in_browser(tab)
    yield tab
    context.close()


def _workspace(ctx: AppContext) -> int:
    return users.workspaces_of(ctx, users.user_by_email(ctx, ADMIN_EMAIL).id)[0].id


def test_port_picks_the_encryption_and_mismatch_shows_while_typing(page: Any) -> None:
    page.goto("/accounts/new")
    security, note = page.locator("#smtp_security"), page.locator("#smtp_security-note")
    expect(note).to_be_hidden()
    page.locator("#smtp_port").fill("465")
    expect(security).to_have_value("ssl")
    expect(note).to_be_visible()
    expect(note).to_contain_text("465")
    expect(note).to_contain_text("SSL")
    page.locator("#smtp_port").fill("587")
    expect(security).to_have_value("starttls")
    expect(note).to_contain_text("587")
    # Choosing another encryption for 587: the warning appears at once, before any save.
    security.select_option("ssl")
    expect(note).to_have_class(re.compile(r"\bmismatch\b"))
    expect(note).to_contain_text("587")
    assert page.url.endswith("/accounts/new")  # nothing was posted
    security.select_option("starttls")
    expect(note).to_be_hidden()
    # The same for IMAP (993 = SSL, 143 = TLS).
    page.locator("#imap_port").fill("143")
    expect(page.locator("#imap_security")).to_have_value("starttls")
    expect(page.locator("#imap_security-note")).to_contain_text("143")


def test_rejected_form_keeps_values_and_shows_every_error(page: Any, web_app: AppContext) -> None:
    page.goto("/accounts/new")
    page.locator("#email").fill("ana@example.com")
    page.locator("#display_name").fill("Ana Pérez")
    page.locator("#smtp_host").fill("smtp.example.com")
    page.locator("#smtp_port").fill("465")
    page.locator("#username").fill("ana.login")
    page.locator("#password").fill(SMTP_PASSWORD)
    page.locator("#smtp_security").select_option("starttls")  # against 465: flagged live
    expect(page.locator("#smtp_security-note")).to_have_class(re.compile(r"\bmismatch\b"))
    page.locator("#limits summary").click()
    page.locator("#daily_limit").fill("20")
    page.locator("#hourly_limit").fill("30")
    page.locator("#min_interval").fill("300")
    page.locator("#max_interval").fill("60")
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_selector("#form-errors")
    # Every error at once, each next to its field.
    for name in ("smtp_security", "hourly_limit", "max_interval"):
        error = page.locator(f"#f-{name} .field-error")
        expect(error).to_be_visible()
        assert page.locator(f"#{name}").get_attribute("aria-invalid") == "true"
    expect(page.locator("#f-hourly_limit .field-error")).to_contain_text("20")
    # Every value kept; the password is not in the page but held for the re-post.
    assert page.locator("#email").input_value() == "ana@example.com"
    assert page.locator("#display_name").input_value() == "Ana Pérez"
    assert page.locator("#smtp_port").input_value() == "465"
    assert page.locator("#username").input_value() == "ana.login"
    assert page.locator("#daily_limit").input_value() == "20"
    assert page.locator("#max_interval").input_value() == "60"
    assert page.locator("#password").input_value() == ""
    assert SMTP_PASSWORD not in page.content()
    expect(page.locator("#password-help")).to_contain_text("Guardamos la contraseña")
    # Fix two of them (the port switches the encryption) without retyping the password: the
    # interval order is still flagged.
    page.locator("#smtp_port").fill("587")
    expect(page.locator("#smtp_security")).to_have_value("starttls")
    page.locator("#hourly_limit").fill("10")
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_selector("#f-max_interval .field-error")
    assert page.locator(".field-error").count() == 1
    page.locator("#max_interval").fill("600")
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(re.compile(r"/accounts/\d+\?created=1$"))
    account_id = int(page.url.split("/")[-1].split("?")[0])
    view = accounts.get_account(web_app, workspace_id=_workspace(web_app), account_id=account_id)
    assert view.password_set and (view.hourly_limit, view.max_interval) == (10, 600)


def test_account_page_limits_keep_values(page: Any, web_app: AppContext) -> None:
    view = accounts.list_accounts(web_app, workspace_id=_workspace(web_app))[0]
    page.goto(f"/accounts/{view.id}")
    page.locator("#daily_limit").fill("5")
    page.locator("#hourly_limit").fill("8")
    page.locator("#min_interval").fill("90")
    page.locator("#max_interval").fill("30")
    page.locator("#f-max_interval").locator("xpath=ancestor::form").get_by_role(
        "button", name="Guardar"
    ).click()
    page.wait_for_selector("#f-hourly_limit .field-error")
    expect(page.locator("#f-max_interval .field-error")).to_be_visible()
    assert page.locator("#daily_limit").input_value() == "5"
    assert page.locator("#min_interval").input_value() == "90"
