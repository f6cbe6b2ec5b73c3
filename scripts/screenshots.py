"""Screenshots of the main pages (Spanish) into docs/screenshots/, for docs/web.md and the README.

    .venv/bin/python scripts/screenshots.py        # needs chromium; Postfix/Dovecot for Probar

Starts FluenzR on 127.0.0.1 (random port, temporary home), creates the admin through the setup
page, adds accounts, seeds two weeks of events for the chart, runs Probar and photographs.
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import email_validator  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD, serve  # noqa: E402
from tests.support import mailservers  # noqa: E402

from fluenzr.config import load_settings  # noqa: E402
from fluenzr.core.secret import Secret  # noqa: E402
from fluenzr.services import accounts, users  # noqa: E402
from fluenzr.services.account_config import AccountInput  # noqa: E402
from fluenzr.services.context import AppContext, open_app  # noqa: E402
from fluenzr.storage.engine import transaction  # noqa: E402
from fluenzr.storage.events import record_event  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def _seed_events(ctx: AppContext, *, workspace_id: int, account_id: int) -> None:
    rng = random.Random(7)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        for days in range(14):
            day = now - timedelta(days=days, hours=1)
            for kind, count in (
                ("sent", rng.randint(10, 40)),
                ("reply", rng.randint(0, 6)),
                ("bounce", rng.randint(0, 2)),
            ):
                for n in range(count):
                    event = record_event(
                        session,
                        workspace_id=workspace_id,
                        type=kind,
                        account_id=account_id,
                        recipient=f"contacto{n}@example.org",
                    )
                    event.created_at = day - timedelta(minutes=n)


def _account(ctx: AppContext, workspace: int, email: str, **fields: object) -> int:
    data = AccountInput(email=email, password=Secret("screenshot-only"), **fields)  # type: ignore[arg-type]
    return accounts.create_account(ctx, workspace_id=workspace, data=data).id


def _shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print("wrote", OUT / f"{name}.png")


def _probar(page: Page, button: str = "#probar-button") -> None:
    page.locator(button).click()
    page.wait_for_selector("#probar[aria-busy='false'][data-job]", timeout=90_000)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    email_validator.TEST_ENVIRONMENT = True  # the local test mail domain is ``.test``
    home = Path(tempfile.mkdtemp(prefix="fluenzr-shots-"))
    ctx = open_app(load_settings(home=home, lang="es"))
    have_mail = mailservers.servers_up()
    with serve(ctx, role="all") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, "--lang=es-ES"]
        )
        page = browser.new_context(
            base_url=url, viewport={"width": 1200, "height": 800}, locale="es-ES"
        ).new_page()
        page.goto("/")
        _shoot(page, "setup")
        page.get_by_label("Email").fill(ADMIN_EMAIL)
        page.get_by_label("Nombre").fill("Ana García")
        page.get_by_label("Contraseña").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Crear administrador").click()
        page.wait_for_url("**/accounts")
        workspace = users.workspaces_of(ctx, users.user_by_email(ctx, ADMIN_EMAIL).id)[0].id
        ovh = _account(ctx, workspace, "ana@midominio.fr", display_name="Ana García", preset="ovh")
        _account(ctx, workspace, "ventas@midominio.es", display_name="Ventas", preset="infomaniak")
        _seed_events(ctx, workspace_id=workspace, account_id=ovh)
        if have_mail:
            box = mailservers.create_user("shots")
            real = _account(
                ctx,
                workspace,
                box.email,
                display_name="Servidor propio",
                smtp_host="127.0.0.1",
                smtp_port=mailservers.SUBMISSION_PORT,
                smtp_security="starttls",
                imap_host="127.0.0.1",
                imap_port=mailservers.IMAPS_PORT,
                imap_security="ssl",
                smtp_ca_pem=mailservers.ca_pem(),
                imap_ca_pem=mailservers.ca_pem(),
            )
            accounts.update_account(
                ctx,
                workspace_id=workspace,
                account_id=real,
                changes={"password": Secret(box.password)},
            )
            page.goto(f"/accounts/{real}")
            _probar(page)
            _shoot(page, "probar-ok")
            bad = _account(
                ctx,
                workspace,
                f"error-{box.email}",
                smtp_host="127.0.0.1",
                smtp_port=mailservers.SUBMISSION_PORT,
                smtp_security="starttls",
                smtp_ca_pem=mailservers.ca_pem(),
            )
            page.goto(f"/accounts/{bad}")
            _probar(page)
            _shoot(page, "probar-auth-failed")
            pinless = _account(
                ctx,
                workspace,
                f"cert-{box.email}",
                smtp_host="127.0.0.1",
                smtp_port=mailservers.SUBMISSION_PORT,
                smtp_security="starttls",
            )
            page.goto(f"/accounts/{pinless}")
            _probar(page)
            page.locator("#trust-panel").scroll_into_view_if_needed()
            _shoot(page, "probar-trust-certificate")
            # Probar before saving, on the "+ SMTP" form.
            draft = mailservers.create_user("draft")
            page.goto("/accounts/new")
            page.get_by_label("Email", exact=True).fill(draft.email)
            page.get_by_label("Servidor SMTP").fill("127.0.0.1")
            page.get_by_label("Puerto", exact=True).fill(str(mailservers.SUBMISSION_PORT))
            page.get_by_label("Contraseña", exact=True).fill("not-the-password")
            page.get_by_text("Certificados (avanzado)").click()
            page.get_by_label("Certificado CA SMTP (PEM)").fill(mailservers.ca_pem() or "")
            _probar(page, "#draft-probar")
            _shoot(page, "smtp-probar-before-saving")
        page.goto("/accounts")
        _shoot(page, "cuentas-de-email")
        page.goto("/accounts/new")
        page.get_by_label("Email", exact=True).fill("ana@zoho.eu")
        page.get_by_role("button", name="Detectar desde el email").click()
        expect(page.locator("#smtp_host")).to_have_value("smtp.zoho.eu")
        _shoot(page, "smtp-form")
        page.goto(f"/accounts/{ovh}")
        _shoot(page, "account")
        page.goto("/events")
        _shoot(page, "events")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/accounts")
        _shoot(page, "cuentas-de-email-390")
        page.goto(f"/accounts/{ovh}")
        _shoot(page, "account-390")
        browser.close()
    ctx.close()


if __name__ == "__main__":
    main()
