"""The UI as a person uses it: first-run admin, "+ SMTP" with a preset, "Probar" against the
local Postfix/Dovecot, a wrong password, the language switch, and workspace isolation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from fluenzr.core.secret import Secret
from fluenzr.services import accounts, users
from fluenzr.services.account_config import AccountInput
from fluenzr.services.account_views import AccountView
from fluenzr.services.context import AppContext
from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD, other_user, set_up_admin_in_browser
from tests.support.mailservers import IMAPS_PORT, SUBMISSION_PORT, ca_pem, create_user

pytestmark = [pytest.mark.browser, pytest.mark.mailserver]
STEP_TIMEOUT = 60_000  # ms: Probar sends a real mail and waits for it in INBOX


@pytest.fixture(scope="module")
def page(browser: Any, base_url: str, web_app: AppContext) -> Any:
    """The admin's browser tab: the first visit creates the admin account."""
    context = browser.new_context(base_url=base_url, locale="en-US")
    tab = context.new_page()
    tab.goto("/")
    assert tab.url.endswith("/setup")
    set_up_admin_in_browser(tab)
    yield tab
    context.close()


def _admin_workspace(ctx: AppContext) -> int:
    return users.workspaces_of(ctx, users.user_by_email(ctx, ADMIN_EMAIL).id)[0].id


def _account(ctx: AppContext, workspace: int, email: str, password: str) -> AccountView:
    return accounts.create_account(
        ctx,
        workspace_id=workspace,
        data=AccountInput(
            email=email,
            smtp_host="127.0.0.1",
            smtp_port=SUBMISSION_PORT,
            smtp_security="starttls",
            password=Secret(password),
            smtp_ca_pem=ca_pem(),
            imap_ca_pem=ca_pem(),
        ),
    )


# Probar's connection steps (SMTP, IMAP), not the deliverability ones (deliv_*).
CONNECTION_STEPS = "#probar li.step:not([data-step^='deliv_'])"


def _job_of(page: Any) -> str:
    panel = page.locator("#probar[data-job]")
    return str(panel.get_attribute("data-job")) if panel.count() else ""


def wait_done(page: Any, *, after: str = "") -> None:
    """Wait for a Probar panel other than job ``after`` to finish."""
    page.wait_for_selector(
        f"#probar[aria-busy='false'][data-job]:not([data-job='{after}'])", timeout=STEP_TIMEOUT
    )


def _probar(page: Any) -> None:
    before = _job_of(page)
    page.get_by_role("button", name="Probar", exact=True).click()
    wait_done(page, after=before)


def test_add_account_with_preset_and_probar(page: Any, mailserver: None) -> None:
    mailbox = create_user("web")
    page.get_by_role("link", name="+ SMTP").click()
    page.get_by_label("Email", exact=True).fill(mailbox.email)
    page.get_by_label("Nombre visible").fill("Prueba Web")
    # The preset picker fills the server fields (htmx, without reloading the page).
    page.get_by_label("Proveedor").select_option(label="ProtonMail (vía Bridge)")
    # (expect() polls without eval: the page's CSP forbids 'unsafe-eval'.)
    expect(page.locator("#smtp_port")).to_have_value("1025")
    assert page.get_by_label("Servidor SMTP").input_value() == "127.0.0.1"
    # Leaving a field checks it at once, with the API's message.
    page.get_by_label("Puerto", exact=True).fill("70000")
    page.get_by_label("Nombre de usuario").focus()
    page.wait_for_selector("#smtp_port-error")
    page.get_by_label("Puerto", exact=True).fill(str(SUBMISSION_PORT))
    page.get_by_label("Nombre de usuario").focus()
    page.wait_for_selector("#smtp_port-error", state="detached")
    page.get_by_label("Nombre de usuario").fill(mailbox.email)
    page.get_by_label("Contraseña", exact=True).fill(mailbox.password)
    page.get_by_label("Encriptación", exact=True).select_option("starttls")
    page.get_by_label("Puerto IMAP").fill(str(IMAPS_PORT))
    page.get_by_label("Encriptación IMAP").select_option("ssl")
    page.get_by_text("Certificados (avanzado)").click()
    page.get_by_label("Certificado CA SMTP (PEM)").fill(ca_pem() or "")
    page.get_by_label("Certificado CA IMAP (PEM)").fill(ca_pem() or "")
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(re.compile(r"/accounts/\d+"))
    assert mailbox.password not in page.content()

    _probar(page)
    steps = page.locator("#probar li.step")
    assert steps.count() >= 3, page.locator("#probar").inner_text()
    # The connection steps all pass; the deliverability steps report the test domain's (empty)
    # DNS as real findings, which do not make the connection fail.
    assert page.locator(f"{CONNECTION_STEPS}.failed, {CONNECTION_STEPS}.skipped").count() == 0
    assert page.locator("#probar li.step[data-step^='deliv_']").count() > 0
    assert page.get_by_text("Todo funciona").is_visible()
    # The account's header follows the result without a reload.
    assert "correcta" in page.locator("#last-test").inner_text()

    page.get_by_role("link", name="Cuentas de Email").first.click()
    row = page.get_by_role("row", name=re.compile(re.escape(mailbox.email)))
    assert "activa" in row.inner_text() and "correcta" in row.inner_text()


def test_wrong_password_shows_authentication_failed(
    page: Any, web_app: AppContext, mailserver: None
) -> None:
    mailbox = create_user("webbad")
    view = _account(web_app, _admin_workspace(web_app), mailbox.email, "definitely-wrong")
    page.goto(f"/accounts/{view.id}")
    _probar(page)
    alert = page.locator("#probar .result.bad")
    assert "Autenticación fallida" in alert.locator("h3").inner_text()
    assert alert.locator(".hint").inner_text().strip() != ""
    assert "error" in page.locator("#status-badge").inner_text()
    # The fix the hint suggests: type the right password, test again.
    page.get_by_role("link", name="Editar").click()
    page.get_by_label("Contraseña", exact=True).fill(mailbox.password)
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(re.compile(rf"/accounts/{view.id}\?saved=connection$"))
    assert "sin probar" in page.locator("#status-badge").inner_text()  # the old result is gone
    _probar(page)
    assert page.get_by_text("Todo funciona").is_visible()


def test_language_switch(page: Any) -> None:
    page.goto("/accounts/new")
    assert page.get_by_label("Servidor SMTP").is_visible()
    page.get_by_role("link", name="EN", exact=True).click()
    assert page.get_by_label("SMTP server").is_visible()
    assert page.get_by_label("Display name").is_visible()
    page.get_by_role("link", name="FR", exact=True).click()
    assert page.get_by_label("Serveur SMTP").is_visible()
    assert page.get_by_label("Nom affiché").is_visible()
    page.get_by_role("link", name="ES", exact=True).click()
    assert page.get_by_label("Nombre visible").is_visible()


def test_other_workspace_cannot_open_account_by_url(
    page: Any, browser: Any, base_url: str, web_app: AppContext
) -> None:
    workspace = _admin_workspace(web_app)
    mine = [_account(web_app, workspace, "isolated@fluenzr.test", "any-password")]
    stranger = other_user(web_app, email="stranger@fluenzr.test")
    context = browser.new_context(base_url=base_url)
    tab = context.new_page()
    try:
        tab.goto("/login")
        tab.get_by_label("Email").fill(stranger.email)
        tab.get_by_label("Contraseña").fill(ADMIN_PASSWORD)
        tab.get_by_role("button", name="Entrar").click()
        tab.wait_for_url(re.compile(r"/accounts$"))
        assert mine[0].email not in tab.content()
        response = tab.goto(f"/accounts/{mine[0].id}")
        assert response is not None and response.status == 404
        assert mine[0].email not in tab.content()
    finally:
        context.close()


def test_trust_this_certificate(page: Any, web_app: AppContext, mailserver: None) -> None:
    """Without the test CA the certificate is refused; trusting its fingerprint fixes Probar."""
    mailbox = create_user("webpin")
    view = accounts.create_account(
        web_app,
        workspace_id=_admin_workspace(web_app),
        data=AccountInput(
            email=mailbox.email,
            smtp_host="127.0.0.1",
            smtp_port=SUBMISSION_PORT,
            smtp_security="starttls",
            password=Secret(mailbox.password),
        ),
    )
    page.goto(f"/accounts/{view.id}")
    _probar(page)
    alert = page.locator("#probar .result.bad")
    assert "Certificado inválido" in alert.locator("h3").inner_text()
    shown = alert.locator("code.fingerprint").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", shown)
    # The pin is part of what the password is bound to: it is entered again with it.
    alert.get_by_label("Contraseña").fill(mailbox.password)
    failed_job = _job_of(page)
    alert.get_by_role("button", name="Confiar en este certificado").click()
    page.wait_for_url(re.compile(rf"/accounts/{view.id}\?saved=trusted$"))
    assert shown in page.content()
    assert (
        accounts.get_account(web_app, workspace_id=view.workspace_id, account_id=view.id).pin_sha256
        == shown
    )
    # The test runs again by itself after trusting.
    wait_done(page, after=failed_job)
    assert page.locator(f"{CONNECTION_STEPS}.failed").count() == 0
    assert page.get_by_text("Todo funciona").is_visible()
