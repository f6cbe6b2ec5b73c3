""" "Cuentas de Email" at fleet size in a real browser: ~60 accounts, search, a tag filter, page 2,
sorting, a bulk tag and a bulk pause on a selection, deleting with the count typed back.

No mail server: nothing here connects to one (the sending system is off in this module).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from fluenzr.core.secret import Secret
from fluenzr.services import account_tags, accounts, users
from fluenzr.services.account_config import AccountInput
from fluenzr.services.context import AppContext
from tests.e2e.server import ADMIN_EMAIL, serve, set_up_admin_in_browser

pytestmark = [pytest.mark.browser]
FLEET = 60


@pytest.fixture(scope="module")
def base_url(web_app: AppContext) -> Iterator[str]:
    with serve(web_app, sending=False) as url:
        yield url


@pytest.fixture(scope="module")
def context(browser: Any, base_url: str, web_app: AppContext) -> Iterator[Any]:
    ctx = browser.new_context(base_url=base_url, locale="es-ES")
    tab = ctx.new_page()
    tab.goto("/")
    set_up_admin_in_browser(tab)
    workspace = users.workspaces_of(web_app, users.user_by_email(web_app, ADMIN_EMAIL).id)[0].id
    ids = []
    for number in range(FLEET):
        data = AccountInput(
            email=f"flota{number:02d}@dominio{number % 3}.test",
            display_name=f"Flota {number:02d}",
            smtp_host=f"smtp{number % 3}.dominio.test",
            smtp_port=587,
            smtp_security="starttls",
            password=Secret("any-password"),
        )
        ids.append(accounts.create_account(web_app, workspace_id=workspace, data=data).id)
    account_tags.add_tag(web_app.engine, workspace_id=workspace, account_ids=ids[:7], tag="lote-a")
    tab.close()
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    tab = context.new_page()
    tab.set_viewport_size({"width": 1280, "height": 900})
    yield tab
    tab.close()


ROWS = "table.accounts tbody tr"


def test_search_tag_filter_pages_and_sort(page: Any) -> None:
    page.goto("/accounts")
    expect(page.locator("#fleet-count")).to_contain_text(f"{FLEET} cuentas")
    expect(page.locator(ROWS)).to_have_count(50)
    page.get_by_role("searchbox").fill("flota42")
    page.get_by_role("button", name="Filtrar").click()
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator(ROWS).first).to_contain_text("flota42@dominio0.test")

    page.goto("/accounts")
    page.locator("form.fleet-filters").get_by_label("Etiqueta").select_option("lote-a")
    page.get_by_role("button", name="Filtrar").click()
    expect(page.locator(ROWS)).to_have_count(7)
    expect(page.locator(ROWS).first.locator(".chip")).to_have_text("lote-a")

    page.goto("/accounts")
    page.get_by_role("link", name="Siguiente →").click()
    expect(page.locator(".pager")).to_contain_text("página 2 de 2")
    expect(page.locator(ROWS)).to_have_count(FLEET - 50)

    page.goto("/accounts")
    page.locator("thead").get_by_role("link", name="Email").click()  # ascending
    page.locator("thead").get_by_role("link", name=re.compile("Email")).click()  # descending
    expect(page.locator("th[aria-sort=descending]")).to_have_count(1)
    expect(page.locator(ROWS).first).to_contain_text(f"flota{FLEET - 1:02d}@")


def test_bulk_tag_and_pause_on_a_selection_then_delete_with_confirmation(page: Any) -> None:
    page.goto("/accounts?q=dominio1")
    expect(page.locator("#fleet-count")).to_contain_text(f"{FLEET // 3} cuentas")
    picked = page.locator(f"{ROWS} input[name=account_id]")
    picked.nth(0).check()
    picked.nth(1).check()
    page.locator("input[name=tag]").fill("Revisar Hoy")
    page.get_by_role("button", name="Añadir etiqueta").click()
    expect(page.locator(".notice.confirm")).to_have_text("Etiqueta añadida a 2 cuentas")
    expect(page.locator(f"{ROWS} .chip", has_text="revisar-hoy")).to_have_count(2)

    page.locator(f"{ROWS} input[name=account_id]").nth(0).check()
    page.get_by_role("button", name="Pausar").click()
    expect(page.locator(".notice.confirm")).to_have_text("1 cuentas en pausa")
    page.goto("/accounts?status=paused")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator(ROWS).first.locator(".badge.paused")).to_be_visible()

    page.goto("/accounts?tag=revisar-hoy")
    page.get_by_label(re.compile("Seleccionar las 2 cuentas del filtro")).check()
    page.get_by_role("button", name="Eliminar…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("¿Eliminar 2 cuentas?")
    page.get_by_label("Escribe 2 para confirmar").fill("3")
    page.get_by_role("button", name="Eliminar 2 cuentas").click()
    expect(page.locator(".notice.error")).to_contain_text("Escribe 2 para confirmar")
    page.get_by_label("Escribe 2 para confirmar").fill("2")
    page.get_by_role("button", name="Eliminar 2 cuentas").click()
    expect(page.locator(".notice.confirm")).to_have_text("2 cuentas eliminadas")
    expect(page.locator("#fleet-count")).to_contain_text("0 cuentas")
    page.goto("/accounts")
    expect(page.locator("#fleet-count")).to_contain_text(f"{FLEET - 2} cuentas")


@pytest.mark.parametrize("width", [390, 1280])
def test_the_table_fits_the_screen(page: Any, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/accounts?tag=lote-a")
    expect(page.locator(ROWS).first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if os.environ.get("FLUENZR_SCREENSHOTS") == "1":
        page.screenshot(path=f"/tmp/fleet-table-{width}.png", full_page=True)
