"""Issue 16 in the browser: honest status, Probar before saving, web words for errors, delete
and save confirmations, overnight windows, presets and "Detectar", the trust panel, 390 px
layouts, our own form messages, focus contrast and the chart.

Each test names the issue's point it checks. Probar runs for real against the local
Postfix/Dovecot, or an in-process aiosmtpd server for a 4xx limit.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.services import accounts, send_window, users
from fluenzr.services.account_config import AccountInput
from fluenzr.services.account_views import AccountView
from fluenzr.services.context import AppContext
from fluenzr.storage.account_pausing import pause_account
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account
from fluenzr.storage.models.users import Job
from tests.e2e.server import ADMIN_EMAIL, set_up_admin_in_browser
from tests.support.fault_smtp import FaultSmtpServer, SmtpFaults
from tests.support.mailservers import SUBMISSION_PORT, ca_pem, create_user

pytestmark = [pytest.mark.browser]
STEP_TIMEOUT = 60_000
SHOTS = Path(__file__).resolve().parents[2] / "build" / "e2e-screenshots"


@pytest.fixture(scope="module")
def context(browser: Any, base_url: str) -> Iterator[Any]:
    ctx = browser.new_context(base_url=base_url, locale="es-ES", timezone_id="Europe/Madrid")
    tab = ctx.new_page()
    tab.goto("/")
    set_up_admin_in_browser(tab)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    tab = context.new_page()
    tab.set_viewport_size({"width": 1280, "height": 900})
    yield tab
    tab.close()


def _workspace(ctx: AppContext) -> int:
    return users.workspaces_of(ctx, users.user_by_email(ctx, ADMIN_EMAIL).id)[0].id


def _account(
    ctx: AppContext,
    email: str,
    password: str = "any-password",  # noqa: S107
    **more: Any,
) -> AccountView:
    data = {
        "email": email,
        "smtp_host": "127.0.0.1",
        "smtp_port": SUBMISSION_PORT,
        "smtp_security": "starttls",
        "password": Secret(password),
        "smtp_ca_pem": ca_pem(),
        **more,
    }
    return accounts.create_account(ctx, workspace_id=_workspace(ctx), data=AccountInput(**data))


def _set(ctx: AppContext, account_id: int, **values: Any) -> None:
    with transaction(ctx.sessions) as session:
        row = session.get(Account, account_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


def _job(page: Any) -> str:
    panel = page.locator("#probar[data-job]")
    return str(panel.get_attribute("data-job")) if panel.count() else ""


def _done(page: Any, after: str = "") -> None:
    page.wait_for_selector(
        f"#probar[aria-busy='false'][data-job]:not([data-job='{after}'])", timeout=STEP_TIMEOUT
    )


def _shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    return path


@pytest.fixture(scope="module")
def throttling_smtp() -> Iterator[FaultSmtpServer]:
    """aiosmtpd answering MAIL FROM with a provider's 4xx rate limit ("try again in 10 min")."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = FaultSmtpServer(
        SmtpFaults(mail="451 4.7.1 Sender rate overlimit, try again in 10 minutes")
    )
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


# -- 1. honest state ------------------------------------------------------------------------------


def test_1_untested_until_probar_passes_and_what_happens_next(
    page: Any, web_app: AppContext
) -> None:
    view = _account(web_app, "estado@fluenzr.test")
    page.goto(f"/accounts/{view.id}")
    badge = page.locator("#status-badge")
    assert "sin probar" in badge.inner_text() and "activa" not in badge.inner_text()
    # A passing test, a window that is closed now: the next send time in the account's zone.
    madrid = ZoneInfo("Europe/Madrid")
    opens = (datetime.now(UTC) + timedelta(hours=3)).astimezone(madrid)
    closes = opens + timedelta(hours=1)
    _set(web_app, view.id, last_test_ok=True, last_test_at=datetime.now(UTC))
    accounts.update_account(
        web_app,
        workspace_id=view.workspace_id,
        account_id=view.id,
        changes={"timezone": "Europe/Madrid"},
    )
    send_window.set_window(
        web_app,
        workspace_id=view.workspace_id,
        account_id=view.id,
        days=range(7),
        start=opens.strftime("%H:%M"),
        end=closes.strftime("%H:%M"),
    )
    page.reload()
    text = badge.inner_text()
    assert "fuera de horario — próximo envío" in text and "(Europe/Madrid)" in text, text
    assert opens.strftime("%H:%M") in text
    # A provider limit with an end time; then a pause that waits for a new password.
    until = datetime.now(UTC) + timedelta(minutes=40)
    with transaction(web_app.sessions) as session:
        row = session.get(Account, view.id)
        assert row is not None
        pause_account(
            session, row, reason=ErrorCode.SENDING_LIMIT, now=datetime.now(UTC), until=until
        )
    page.reload()
    text = badge.inner_text()
    assert "en pausa hasta " + until.astimezone(madrid).strftime("%H:%M") in text, text
    assert "límite de envío alcanzado" in text.lower()
    _set(web_app, view.id, status_reason="auth_failed", paused_until=None)
    page.reload()
    assert "reconexión necesaria" in badge.inner_text()


def test_1_edit_clears_the_old_result(page: Any, web_app: AppContext) -> None:
    view = _account(web_app, "editado@fluenzr.test", password="first-password")
    _set(web_app, view.id, last_test_ok=True, last_test_at=datetime.now(UTC))
    page.goto(f"/accounts/{view.id}")
    assert "correcta" in page.locator("#last-test").inner_text()
    page.goto(f"/accounts/{view.id}/edit")
    page.get_by_label("Contraseña", exact=True).fill("second-password")
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(re.compile(r"saved=connection"))
    assert "Conexión guardada" in page.locator(".notice.confirm").inner_text()
    assert "sin probar" in page.locator("#last-test").inner_text()
    assert "sin probar" in page.locator("#status-badge").inner_text()


def test_1_temporary_limit_is_an_amber_warning_with_reset_time(
    page: Any, web_app: AppContext, throttling_smtp: FaultSmtpServer
) -> None:
    view = _account(
        web_app,
        "limitada@fault.test",
        password="correct horse battery staple",
        smtp_port=throttling_smtp.port,
        smtp_ca_pem=throttling_smtp.ca_pem,
        username="ana@fault.test",
    )
    page.goto(f"/accounts/{view.id}")
    page.get_by_role("button", name="Probar", exact=True).click()
    _done(page)
    warning = page.locator("#probar .result.warn")
    expect(warning).to_be_visible()
    assert page.locator("#probar .result.bad").count() == 0
    assert "se restablece hacia las" in warning.inner_text(), warning.inner_text()
    assert page.locator("#probar li.step.warning:not([data-step^='deliv_'])").count() >= 1
    assert "error" not in page.locator("#status-badge .badge").inner_text()
    colour = page.locator("#probar .result.warn").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert colour == "rgb(255, 251, 235)"  # amber, not the red of a failure


# -- 2. Probar before saving ----------------------------------------------------------------------


def _fill_form(page: Any, email: str, password: str) -> None:
    page.goto("/accounts/new")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Servidor SMTP").fill("127.0.0.1")
    page.get_by_label("Puerto", exact=True).fill(str(SUBMISSION_PORT))
    page.get_by_label("Contraseña", exact=True).fill(password)
    page.get_by_label("Encriptación", exact=True).select_option("starttls")
    page.get_by_text("Certificados (avanzado)").click()
    page.get_by_label("Certificado CA SMTP (PEM)").fill(ca_pem() or "")


def test_2_probar_before_saving_stores_nothing_but_the_result(
    page: Any, web_app: AppContext, mailserver: None
) -> None:
    mailbox = create_user("draft")
    _fill_form(page, mailbox.email, mailbox.password)
    assert page.locator("#username").input_value() == mailbox.email  # filled from the email
    page.locator("#draft-probar").dblclick()  # a double click starts one test
    _done(page)
    assert page.get_by_text("Todo funciona").is_visible(), page.locator("#probar").inner_text()
    with web_app.sessions() as session:
        drafts = session.scalars(select(Job).where(Job.kind == "probar_draft")).all()
        assert len(drafts) == 1
        assert drafts[0].options == "{}"  # the sealed password and settings are gone
        assert mailbox.password not in (drafts[0].result or "")
        assert session.scalar(select(Account).where(Account.email == mailbox.email)) is None
    assert mailbox.password not in page.content()
    assert re.search(r"/accounts/new\?draft=\d+$", page.url)
    page.reload()  # the last result survives a reload of the form
    assert page.get_by_text("Todo funciona").is_visible()
    assert mailbox.password not in page.content()


def test_2_failed_test_offers_save_anyway(page: Any, web_app: AppContext, mailserver: None) -> None:
    mailbox = create_user("draftbad")
    _fill_form(page, mailbox.email, "wrong-password")
    page.locator("#draft-probar").click()
    _done(page)
    assert "Autenticación fallida" in page.locator("#probar .result.bad h3").inner_text()
    anyway = page.get_by_role("button", name="Guardar de todos modos")
    expect(anyway).to_be_visible()
    anyway.click()
    page.wait_for_url(re.compile(r"/accounts/\d+\?created=1"))
    assert "sin probar" in page.locator("#status-badge").inner_text()


def test_2_and_8_trust_survives_reload_and_retests_by_itself(
    page: Any, web_app: AppContext, mailserver: None
) -> None:
    mailbox = create_user("reload")
    view = _account(web_app, mailbox.email, mailbox.password, smtp_ca_pem=None)
    page.goto(f"/accounts/{view.id}")
    page.get_by_role("button", name="Probar", exact=True).click()
    _done(page)
    page.reload()  # the last result and the trust action are still there
    panel = page.locator("#trust-panel")
    expect(panel).to_be_visible()
    fingerprint = panel.locator("code.fingerprint").inner_text().strip()
    # 8: subject, issuer, validity and the fingerprint exactly once, wrapped.
    text = page.locator("#probar").inner_text()
    assert text.count(fingerprint) == 1
    for label in ("Sujeto", "Emisor", "Válido"):
        assert label in panel.inner_text()
    assert re.search(r"del \d{4}-\d\d-\d\d al \d{4}-\d\d-\d\d", panel.inner_text())
    box = panel.locator("code.fingerprint").bounding_box()
    assert box is not None and box["width"] <= panel.bounding_box()["width"]
    # 4: the raw library text is only in the collapsed technical detail.
    alert_head = page.locator("#probar .result.bad h3").inner_text()
    assert "CERTIFICATE_VERIFY_FAILED" not in alert_head
    tech = page.locator("#probar details.tech")
    assert tech.count() == 1 and tech.get_attribute("open") is None
    assert "certificate_invalid" in (tech.text_content() or "")  # code kept, out of sight
    failed = _job(page)
    panel.get_by_label("Contraseña").fill(mailbox.password)
    panel.get_by_role("button", name="Confiar en este certificado").click()
    page.wait_for_url(re.compile(r"saved=trusted"))
    _done(page, after=failed)  # the re-test started by itself
    assert page.get_by_text("Todo funciona").is_visible()


def test_2_double_click_on_saved_account_starts_one_test(
    page: Any, web_app: AppContext, mailserver: None
) -> None:
    mailbox = create_user("dbl")
    view = _account(web_app, mailbox.email, mailbox.password)
    page.goto(f"/accounts/{view.id}")
    page.locator("#probar-button").dblclick()
    _done(page)
    with web_app.sessions() as session:
        runs = session.scalars(select(Job).where(Job.account_id == view.id)).all()
    assert len(runs) == 1


# -- 4. web words ---------------------------------------------------------------------------------


def test_4_duplicate_account_error_names_the_control(page: Any, web_app: AppContext) -> None:
    _account(web_app, "duplicada@fluenzr.test")
    page.goto("/accounts/new")
    page.get_by_label("Email", exact=True).fill("duplicada@fluenzr.test")
    page.get_by_label("Servidor SMTP").fill("127.0.0.1")
    page.get_by_label("Contraseña", exact=True).fill("x-password")
    page.get_by_role("button", name="Guardar").click()
    body = page.locator("main").inner_text()
    assert "fluenzr accounts" not in body and "--force" not in body
    assert "Editar" in body


# -- 5. delete and save confirmations -------------------------------------------------------------


def test_5_delete_without_history_confirms_and_says_so(page: Any, web_app: AppContext) -> None:
    view = _account(web_app, "nueva@fluenzr.test")
    page.goto(f"/accounts/{view.id}")
    remove = page.locator("#remove")
    assert (
        "se cancelarán" in remove.inner_text() and "Se conservan los eventos" in remove.inner_text()
    )
    expect(page.locator("#confirm-remove")).to_be_hidden()  # a second step first
    remove.locator("summary").click()
    page.locator("#confirm-remove").click()
    page.wait_for_url(re.compile(r"/accounts\?deleted="))
    assert "Cuenta nueva@fluenzr.test eliminada" in page.locator(".notice.confirm").inner_text()


def test_5_delete_with_history_needs_the_address(page: Any, web_app: AppContext) -> None:
    view = _account(web_app, "historial@fluenzr.test")
    with transaction(web_app.sessions) as session:
        record_event(session, workspace_id=view.workspace_id, type="sent", account_id=view.id)
    page.goto(f"/accounts/{view.id}")
    page.get_by_label("Escribe historial@fluenzr.test para confirmar").fill("otra@fluenzr.test")
    page.locator("#confirm-remove").click()
    expect(page.locator("#confirm_email-error")).to_be_visible()
    assert accounts.get_account(web_app, workspace_id=view.workspace_id, account_id=view.id)
    page.get_by_label("Escribe historial@fluenzr.test para confirmar").fill(
        "historial@fluenzr.test"
    )
    page.locator("#confirm-remove").click()
    page.wait_for_url(re.compile(r"/accounts\?deleted="))
    assert "eliminada" in page.locator(".notice.confirm").inner_text()


def test_5_and_6_settings_save_confirms_and_window_crosses_midnight(
    page: Any, web_app: AppContext
) -> None:
    view = _account(web_app, "noche@fluenzr.test")
    page.goto(f"/accounts/{view.id}")
    toggle = page.get_by_label("Enviar solo en estos días y horas", exact=False)
    if toggle.is_checked():
        toggle.uncheck()
    # 6: days and hours are disabled while the window is off.
    assert page.locator("#window-days input").first.is_disabled()
    assert page.locator("#start").is_disabled()
    toggle.check()
    assert page.locator("#window-days input").first.is_enabled()
    page.locator("#start").fill("22:00")
    page.locator("#end").fill("06:00")
    # 6: the browser's zone is offered first and named under the field.
    first = page.locator("#tz-list option").first.get_attribute("value")
    assert first == "Europe/Madrid"
    page.locator("#tz-use-browser").click()
    assert page.locator("#timezone").input_value() == "Europe/Madrid"
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(re.compile(r"saved=settings"))
    assert "guardados" in page.locator(".notice.confirm").inner_text()
    stored = accounts.get_account(web_app, workspace_id=view.workspace_id, account_id=view.id)
    assert stored.send_window and stored.send_window["start"] == "22:00"
    assert stored.send_window["end"] == "06:00" and stored.timezone == "Europe/Madrid"


# -- 7. presets and Detectar ----------------------------------------------------------------------


def test_7_presets_and_app_password_hint(page: Any) -> None:
    page.goto("/accounts/new")
    options = page.locator("#preset option").all_inner_texts()
    assert options.count("Personalizado") == 1
    page.get_by_label("Proveedor").select_option(label="Zoho Mail (EU)")
    expect(page.locator("#smtp_host")).to_have_value("smtp.zoho.eu")
    assert page.locator("#f-apphint").inner_text().count("contraseña de aplicación") == 1
    assert page.locator("#f-apphint .notice").count() == 1
    page.get_by_label("Proveedor").select_option(label="ProtonMail (vía Bridge)")
    expect(page.locator("#smtp_port")).to_have_value("1025")
    hint = page.locator("#f-apphint").inner_text()
    assert "contraseña de aplicación" not in hint and "Bridge" in hint


def test_7_detect_says_what_it_found_or_offers_guesses(page: Any) -> None:
    page.goto("/accounts/new")
    page.get_by_label("Email", exact=True).fill("ana@zoho.eu")
    assert page.locator("#username").input_value() == "ana@zoho.eu"
    page.get_by_role("button", name="Detectar desde el email").click()
    expect(page.locator("#f-note")).to_contain_text("Detectado: Zoho Mail (EU)")
    page.get_by_label("Email", exact=True).fill("ana@desconocido.test")
    page.get_by_role("button", name="Detectar desde el email").click()
    expect(page.locator("#f-note [data-detect='unknown']")).to_be_visible()
    page.get_by_role("button", name="smtp.desconocido.test").click()
    expect(page.locator("#smtp_host")).to_have_value("smtp.desconocido.test")
    page.get_by_label("Email", exact=True).fill("no es una dirección")
    page.get_by_role("button", name="Detectar desde el email").click()
    expect(page.locator("#email-detect-error")).to_be_visible()


# -- 8. pinned certificate cleared when the host changes ------------------------------------------


def test_8_pin_cleared_with_a_note_when_the_host_changes(page: Any, web_app: AppContext) -> None:
    view = _account(web_app, "pin@fluenzr.test", smtp_ca_pem=None, pin_sha256="ab" * 32)
    page.goto(f"/accounts/{view.id}/edit")
    page.get_by_label("Servidor SMTP").fill("localhost")
    page.get_by_label("Contraseña", exact=True).fill("new-password")
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(re.compile(r"saved=pin_cleared"))
    assert "se quitó el certificado de confianza" in page.locator(".notice.confirm").inner_text()
    stored = accounts.get_account(web_app, workspace_id=view.workspace_id, account_id=view.id)
    assert stored.pin_sha256 is None


# -- 13. 390 px and 1280 px -----------------------------------------------------------------------


_WIDER = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className)"""


@pytest.mark.parametrize("width", [390, 1280])
def test_13_layout_fits_the_screen(page: Any, web_app: AppContext, width: int) -> None:
    view = _account(web_app, f"ancho{width}@fluenzr.test", display_name="Ancho")
    page.set_viewport_size({"width": width, "height": 900})
    for name, path in (
        ("cuentas", "/accounts"),
        ("smtp", "/accounts/new"),
        ("cuenta", f"/accounts/{view.id}"),
        ("eventos", "/events"),
    ):
        page.goto(path)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, (path, scroll, page.evaluate(_WIDER))
        _shot(page, f"{name}-{width}")
    if width == 390:
        page.goto("/accounts")
        cells = page.locator("table.accounts tbody tr").first
        box = cells.bounding_box()
        assert box is not None and box["width"] <= width


# -- 14. our own form messages, in the page's language --------------------------------------------


def test_14_form_messages_are_ours(browser: Any, base_url: str) -> None:
    ctx = browser.new_context(base_url=base_url, locale="de-DE")
    tab = ctx.new_page()
    try:
        tab.goto("/lang/en?next=/login")
        tab.get_by_role("button", name="Log in").click()
        error = tab.locator("#email-client-error")
        expect(error).to_have_text("Fill in this field.")
        tab.get_by_label("Email").fill("not-an-address")
        tab.get_by_role("button", name="Log in").click()
        expect(error).to_contain_text("valid email address")
        tab.goto("/lang/fr?next=/login")
        tab.get_by_role("button", name="Se connecter").click()
        expect(tab.locator("#email-client-error")).to_have_text("Remplissez ce champ.")
    finally:
        ctx.close()


# -- 16. focus contrast and the chart -------------------------------------------------------------


def _luminance(rgb: tuple[int, ...]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _rgb(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in re.findall(r"\d+", text)[:3])


def test_16_focus_ring_contrast_and_chart(page: Any, web_app: AppContext) -> None:
    view = _account(web_app, "grafico@fluenzr.test")
    page.goto(f"/accounts/{view.id}")
    page.keyboard.press("Tab")  # the skip link, then the brand link
    page.keyboard.press("Tab")
    colour = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    width = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    fg = _luminance(_rgb(colour))
    ratio = (1.0 + 0.05) / (fg + 0.05)  # against the white header
    assert ratio >= 3.0 and width == "3px", (colour, ratio)
    card = page.locator("section.card", has=page.locator("svg.chart"))
    svg = page.locator("svg.chart")
    inner = card.evaluate(
        "e => e.clientWidth - parseFloat(getComputedStyle(e).paddingLeft)"
        " - parseFloat(getComputedStyle(e).paddingRight)"
    )
    assert abs(svg.bounding_box()["width"] - inner) <= 2
    sizes = svg.locator("text").evaluate_all(
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes and min(sizes) >= 11, sizes


def test_job_options_never_keep_a_password(web_app: AppContext) -> None:
    """After the browser tests ran: no job row holds a sealed password any more."""
    with web_app.sessions() as session:
        for options in session.scalars(select(Job.options)).all():
            assert "sealed" not in json.loads(options or "{}")
