"""Issue #13's "done when": a new user imports a 300-row CSV in the UI and sees per-row results.

Cuentas de Email → Importar CSV → file → Revisar (mapping + dry run, nothing written) → change
one column's mapping → Importar → per-row results; the bad rows are reported, the rest imported.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from fluenzr.services.context import AppContext
from fluenzr.storage.models import Account
from tests.e2e.server import set_up_admin_in_browser

pytestmark = [pytest.mark.browser]
GOOD, BAD = 295, 5
PASSWORD = "Csv-Secret-%d-x"


def _csv() -> bytes:
    # No IMAP server: the in-process sending system must not start watching 295 mailboxes.
    lines = ["Email,Sender Label,SMTP Host,SMTP Port,Password,Tags"]
    for i in range(GOOD):
        lines.append(f"box{i}@example.com,Box {i},smtp.example.com,587,{PASSWORD % i},e2e")
    for i in range(BAD):  # an impossible port: reported on its line, the others go on
        lines.append(f"bad{i}@example.com,Bad,smtp.example.com,70000,{PASSWORD % i},")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def page(browser: Any, base_url: str) -> Any:
    context = browser.new_context(base_url=base_url, locale="es-ES")
    tab = context.new_page()
    tab.goto("/setup")
    set_up_admin_in_browser(tab)
    yield tab
    context.close()


def _count(ctx: AppContext) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(Account)) or 0


def test_import_300_rows_with_a_few_bad_ones(page: Any, web_app: AppContext) -> None:
    page.goto("/accounts")
    page.get_by_role("link", name="Importar CSV").click()
    page.wait_for_url(re.compile(r"/accounts/import$"))
    page.locator("#import-file").set_input_files(
        {"name": "buzones.csv", "mimeType": "text/csv", "buffer": _csv()}
    )
    page.get_by_role("button", name="Revisar (simulación)").click()
    counts = page.locator("#import-counts")
    expect(counts).to_contain_text(f"{GOOD} se creará", timeout=30_000)
    expect(counts).to_contain_text(f"{BAD} con errores")
    assert _count(web_app) == 0  # the dry run wrote nothing
    # "Sender Label" is no known alias: map it to the display name, then review again.
    label = page.get_by_label("Sender Label")
    expect(label).to_have_value("")
    label.select_option("from_name")
    page.get_by_role("button", name="Revisar (simulación)").click()
    expect(page.locator("#import-rows")).to_contain_text("70000", timeout=30_000)
    expect(page.locator("#import-rows")).not_to_contain_text("Csv-Secret")
    page.get_by_role("button", name="Importar", exact=True).click()
    page.wait_for_url(re.compile(r"/accounts/import/\d+$"), timeout=60_000)
    results = page.locator("#import-counts")
    expect(results).to_contain_text(f"{GOOD} creada")
    expect(results).to_contain_text(f"{BAD} con errores")
    bad_row = page.locator("tr.import-invalid").first
    expect(bad_row).to_contain_text("Puerto")
    expect(bad_row).to_contain_text("65535")  # the fix: a port from 1 to 65535
    assert "Csv-Secret" not in page.content()
    assert _count(web_app) == GOOD
    with web_app.sessions() as session:
        names = session.scalars(
            select(Account.display_name).where(Account.email == "box7@example.com")
        )
        assert list(names) == ["Box 7"]
