"""Envíos, Respuestas, events, the bell and /api/docs as a person uses them, against the local
Postfix/Dovecot with the whole sending system (outbox worker, IMAP reply detection) running.

A user signs in, sends "Enviar prueba a…" from an account's page, watches it leave in Envíos,
the recipient answers (delivered into the account's Dovecot INBOX), and the answer appears in
Respuestas without the quoted part, linked to the message we sent.
"""

from __future__ import annotations

import os
import re
import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from fluenzr.core.secret import Secret
from fluenzr.services import accounts, users
from fluenzr.services.account_config import AccountInput
from fluenzr.services.account_views import AccountView
from fluenzr.services.context import AppContext
from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD, serve
from tests.support.mailservers import (
    HOST,
    IMAPS_PORT,
    SMTP_PLAIN_PORT,
    SUBMISSION_PORT,
    MailUser,
    ca_pem,
    create_user,
    make_message,
    require_mailserver,
)

pytestmark = [pytest.mark.browser, pytest.mark.mailserver]
# FLUENZR_SCREENSHOTS=1 also saves the pages into docs/screenshots/ (for docs/web.md).
SHOTS = Path(__file__).parents[2] / "docs" / "screenshots"


def _shot(tab: Any, name: str) -> None:
    if os.environ.get("FLUENZR_SCREENSHOTS") == "1":
        tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


WAIT = 60_000  # ms: a real send, then IMAP IDLE noticing the reply


class Mailboxes:
    def __init__(self, sender: MailUser, recipient: MailUser, account: AccountView) -> None:
        self.sender, self.recipient, self.account = sender, recipient, account


@pytest.fixture(scope="module")
def mailboxes(web_app: AppContext) -> Mailboxes:
    """The admin and one account with IMAP, made before the server starts (so the reply
    watcher has it from its first scan)."""
    require_mailserver()
    users.setup_admin(web_app, email=ADMIN_EMAIL, name="Admin", password=Secret(ADMIN_PASSWORD))
    workspace = users.workspaces_of(web_app, users.user_by_email(web_app, ADMIN_EMAIL).id)[0].id
    sender, recipient = create_user("envios"), create_user("destino")
    view = accounts.create_account(
        web_app,
        workspace_id=workspace,
        data=AccountInput(
            email=sender.email,
            display_name="Envíos Web",
            smtp_host=HOST,
            smtp_port=SUBMISSION_PORT,
            smtp_security="starttls",
            password=Secret(sender.password),
            imap_host=HOST,
            imap_port=IMAPS_PORT,
            imap_security="ssl",
            smtp_ca_pem=ca_pem(),
            imap_ca_pem=ca_pem(),
            min_interval=0,
            max_interval=0,
        ),
    )
    return Mailboxes(sender, recipient, view)


@pytest.fixture(scope="module")
def site(web_app: AppContext, mailboxes: Mailboxes) -> Iterator[str]:
    with serve(web_app, role="all") as url:
        yield url


@pytest.fixture(scope="module")
def tab(browser: Any, site: str) -> Iterator[Any]:
    context = browser.new_context(base_url=site, locale="es-ES")
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Contraseña").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(re.compile(r"/accounts$"))
    yield page
    context.close()


def _reply_to(message_id: str, mailboxes: Mailboxes) -> None:
    """The recipient answers above the quote, as mail clients do."""
    body = (
        "Sí, me interesa. ¿Hablamos el jueves?\n\n"
        f"El lun, {mailboxes.sender.email} escribió:\n"
        "> Este es un mensaje de prueba enviado por FluenzR\n"
    )
    raw = make_message(
        to=mailboxes.sender.email,
        sender=mailboxes.recipient.email,
        subject="Re: Prueba de envío",
        body=body,
        headers={"In-Reply-To": f"<{message_id}>", "References": f"<{message_id}>"},
    )
    with smtplib.SMTP(HOST, SMTP_PLAIN_PORT, timeout=10) as smtp:
        smtp.sendmail(mailboxes.recipient.email, [mailboxes.sender.email], raw)


def test_send_test_then_see_it_in_envios_and_the_reply_in_respuestas(
    tab: Any, mailboxes: Mailboxes
) -> None:
    tab.goto(f"/accounts/{mailboxes.account.id}")
    tab.get_by_role("textbox", name="Enviar prueba a…").fill(mailboxes.recipient.email)
    tab.get_by_role("button", name="Enviar prueba").click()
    tab.wait_for_url(re.compile(r"/outbox/\d+\?done=queued$"))
    # "In the queue" while it waits (the worker may already have sent it: then the badge says so).
    if tab.locator(".notice").count():
        assert "Mensaje de prueba en la cola" in tab.locator(".notice").inner_text()
    outbox_id = int(re.findall(r"/outbox/(\d+)", tab.url)[0])
    # The sending system sends it through Postfix; the page shows it once it has gone.
    for _ in range(60):
        if "enviado" in tab.locator(".heading .badge").inner_text():
            break
        tab.wait_for_timeout(500)
        tab.reload()
    expect(tab.locator(".heading .badge")).to_have_text("enviado")
    headers = tab.locator("table.headers").inner_text()
    assert "Message-ID" in headers and mailboxes.recipient.email in headers
    message_id = tab.locator("dd code").filter(has_text="@").first.inner_text().strip("<>")
    with tab.expect_download() as download:
        tab.get_by_role("link", name=re.compile("Descargar el mensaje exacto")).click()
    assert download.value.suggested_filename == f"message-{outbox_id}.eml"
    _shot(tab, "envio")

    tab.get_by_role("link", name="Envíos", exact=True).first.click()
    row = tab.locator(f"#message-{outbox_id}")
    assert mailboxes.sender.email in row.inner_text()
    assert mailboxes.recipient.email in row.inner_text()
    assert "enviado" in row.inner_text()
    _shot(tab, "envios")

    _reply_to(message_id, mailboxes)
    tab.goto("/replies")
    for _ in range(120):
        if tab.locator("li.reply").count():
            break
        tab.wait_for_timeout(500)
        tab.reload()
    reply = tab.locator("li.reply").first
    text = reply.locator(".reply-text").inner_text()
    assert "me interesa" in text and "escribió" not in text and ">" not in text
    assert mailboxes.recipient.email in reply.locator(".sender").inner_text()
    assert "Respuesta" in reply.inner_text() and "sin leer" in reply.inner_text()
    assert tab.locator("nav a[href='/replies'] .count").inner_text() == "1"
    _shot(tab, "respuestas")
    reply.get_by_role("button", name="Marcar como atendida").click()
    reply = tab.locator("li.reply").first
    assert "atendida" in reply.inner_text() and "sin leer" not in reply.inner_text()
    assert tab.locator("nav a[href='/replies'] .count").count() == 0
    tab.select_option("#f-state", "open")
    tab.get_by_role("button", name="Filtrar").click()
    assert tab.locator("li.reply").count() == 0
    tab.goto("/replies")
    tab.locator("li.reply").first.get_by_role("link", name=re.compile("Nuestro mensaje")).click()
    tab.wait_for_url(re.compile(rf"/outbox/{outbox_id}$"))
    assert "respuesta" in tab.locator("section").last.inner_text()  # its events

    # Events say who, not "#1".
    tab.goto("/events")
    table = tab.locator("table.events").inner_text()
    assert mailboxes.sender.email in table and "#1" not in table
    assert mailboxes.recipient.email in table


def test_failed_probar_rings_the_bell(tab: Any, web_app: AppContext) -> None:
    broken = create_user("campana")
    workspace = users.workspaces_of(web_app, users.user_by_email(web_app, ADMIN_EMAIL).id)[0].id
    view = accounts.create_account(
        web_app,
        workspace_id=workspace,
        data=AccountInput(
            email=broken.email,
            smtp_host=HOST,
            smtp_port=SUBMISSION_PORT,
            smtp_security="starttls",
            password=Secret("not-the-password"),
            smtp_ca_pem=ca_pem(),
        ),
    )
    tab.goto(f"/accounts/{view.id}")
    assert tab.locator("#bell-count").count() == 0
    tab.get_by_role("button", name="Probar").click()
    tab.wait_for_selector("#probar[aria-busy='false']", timeout=WAIT)
    tab.reload()
    expect(tab.locator("#bell-count")).to_have_text("1")
    tab.locator("#bell").click()
    tab.wait_for_url(re.compile(r"/notifications$"))
    item = tab.locator("li.notification").first
    assert broken.email in item.inner_text() and "la prueba ha fallado" in item.inner_text()
    _shot(tab, "notificaciones")
    assert tab.locator("#bell-count").count() == 0  # opening the list read it
    tab.goto("/events?type=account_tested")
    assert "Probar: fallida" in tab.locator("table.events").inner_text()
    assert broken.email in tab.locator("table.events").inner_text()
    _shot(tab, "eventos")


def test_views_in_english_and_french(tab: Any) -> None:
    tab.goto("/lang/en?next=/replies")
    expect(tab.locator("h1")).to_have_text("Replies")
    assert tab.get_by_role("link", name="Sent mail").count() == 1
    tab.goto("/lang/fr?next=/outbox")
    expect(tab.locator("h1")).to_have_text("Envois")
    tab.goto("/lang/fr?next=/notifications")
    expect(tab.locator("h1")).to_have_text("Notifications")
    tab.goto("/lang/es?next=/outbox")
    expect(tab.locator("h1")).to_have_text("Envíos")


def test_api_docs_render_offline(tab: Any, site: str) -> None:
    """Swagger UI draws the API from this installation alone: every request stays local."""
    seen: list[str] = []
    tab.on("request", lambda request: seen.append(request.url))
    tab.goto("/api/docs")
    tab.wait_for_selector(".swagger-ui .info .title", timeout=WAIT)
    assert "FluenzR API" in tab.locator(".swagger-ui .info .title").inner_text()
    assert tab.locator(".opblock-tag").filter(has_text="messages").count() == 1
    assert seen and all(url.startswith(site) for url in seen), seen
