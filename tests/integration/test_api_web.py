"""The server-rendered UI over real HTTP without a browser: setup, login, CSRF, rate limiting,
the "+ SMTP" form without JavaScript, no secret in pages, workspace isolation."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fluenzr.services.context import AppContext
from tests.e2e.server import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    csrf_of,
    other_user,
    serve,
    set_up_admin_over_http,
)

SMTP_PASSWORD = "Very-Secret-Smtp-Pass-42"


@pytest.fixture
def base_url(app: AppContext) -> Iterator[str]:
    with serve(app, sending=False) as url:
        yield url


def _setup(http: httpx.Client) -> None:
    reply = set_up_admin_over_http(http)
    assert reply.status_code == 303 and reply.headers["location"] == "/accounts"


def test_first_visit_creates_the_admin(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=20) as http:
        first = http.get("/")
        assert first.status_code == 303 and first.headers["location"] == "/setup"
        page = http.get("/setup")
        forged = http.post(
            "/setup", data={"csrf": "forged", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert forged.status_code == 403
        short = http.post(
            "/setup", data={"csrf": csrf_of(page.text), "email": ADMIN_EMAIL, "password": "short"}
        )
        assert short.status_code == 422 and 'aria-invalid="true"' in short.text
        _setup(http)
        cookie = next(c for c in http.cookies.jar if c.name == "fluenzr_session")
        assert cookie.has_nonstandard_attr("HttpOnly")
        assert http.get("/accounts").status_code == 200
        assert http.get("/setup").headers["location"] == "/login"


def test_login_rate_limited(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=20) as http:
        _setup(http)
    with httpx.Client(base_url=base_url, timeout=20) as http:
        token = csrf_of(http.get("/login").text)
        for _ in range(5):
            wrong = http.post(
                "/login", data={"csrf": token, "email": ADMIN_EMAIL, "password": "wrong-password"}
            )
            assert wrong.status_code == 401 and "incorrectos" in wrong.text
        blocked = http.post(
            "/login", data={"csrf": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert blocked.status_code == 429


def test_smtp_form_without_javascript(base_url: str, app: AppContext) -> None:
    with httpx.Client(base_url=base_url, timeout=20) as http:
        _setup(http)
        form = http.get("/accounts/new")
        labels = re.findall(r'<label for="([a-z_]+)">', form.text)
        # The seed's order: Email, Nombre visible, Servidor SMTP, Puerto, Nombre de usuario,
        # Contraseña, Encriptación.
        seed = [
            "email",
            "display_name",
            "smtp_host",
            "smtp_port",
            "username",
            "password",
            "smtp_security",
        ]
        assert [name for name in labels if name in seed] == seed
        token = csrf_of(form.text)
        detected = http.post(
            "/accounts/new", data={"csrf": token, "action": "detect", "email": "ana@zoho.eu"}
        )
        assert 'value="smtp.zoho.eu"' in detected.text and "App Password" in detected.text
        fields = {
            "csrf": token,
            "action": "save",
            "email": "ana@example.com",
            "display_name": "Ana",
            "smtp_host": "smtp.example.com",
            "smtp_port": "465",
            "username": "",
            "password": SMTP_PASSWORD,
            "smtp_security": "starttls",
        }
        invalid = http.post("/accounts/new", data=fields)
        assert invalid.status_code == 422
        assert 'id="smtp_security-error"' in invalid.text
        assert SMTP_PASSWORD not in invalid.text
        created = http.post("/accounts/new", data={**fields, "smtp_port": "587"})
        assert created.status_code == 303
        account_page = http.get(created.headers["location"])
        assert account_page.status_code == 200 and SMTP_PASSWORD not in account_page.text
        listing = http.get("/accounts")
        assert "ana@example.com" in listing.text and SMTP_PASSWORD not in listing.text
        account_id = int(created.headers["location"].split("/")[2].split("?")[0])
        limits = http.post(
            f"/accounts/{account_id}/settings",
            data={"csrf": token, "daily_limit": "33", "timezone": "Europe/Madrid"},
        )
        assert limits.status_code == 303
        assert "33" in http.get("/accounts").text
        bad_tz = http.post(
            f"/accounts/{account_id}/settings", data={"csrf": token, "timezone": "Mars/Olympus"}
        )
        assert bad_tz.status_code == 422 and 'id="timezone-error"' in bad_tz.text
        queued = http.post(f"/accounts/{account_id}/test", data={"csrf": token})
        assert queued.status_code == 303 and "/tests/" in queued.headers["location"]
        live = http.get(queued.headers["location"])
        assert live.status_code == 200 and 'http-equiv="refresh"' in live.text

        stranger = other_user(app)
        with httpx.Client(base_url=base_url, timeout=20) as other:
            login = csrf_of(other.get("/login").text)
            other.post(
                "/login", data={"csrf": login, "email": stranger.email, "password": ADMIN_PASSWORD}
            )
            assert other.get("/accounts").status_code == 200
            assert other.get(f"/accounts/{account_id}").status_code == 404
            assert other.get(queued.headers["location"]).status_code == 404
            assert other.get(f"/accounts/{account_id}/edit").status_code == 404
            theirs = csrf_of(other.get("/accounts").text)
            assert (
                other.post(f"/accounts/{account_id}/delete", data={"csrf": theirs}).status_code
                == 404
            )
            edit = other.post(
                f"/accounts/{account_id}/edit", data={"csrf": theirs, "email": "x@y.z"}
            )
            assert edit.status_code == 404
        assert http.get(f"/accounts/{account_id}").status_code == 200


def test_cookie_api_writes_need_csrf_and_redirects_stay_local(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=20) as http:
        _setup(http)
        assert http.get("/api/v1/accounts").status_code == 200
        body = {"email": "b@example.com", "smtp_host": "smtp.example.com", "password": "x" * 12}
        assert http.post("/api/v1/accounts", json=body).status_code == 403
        token = csrf_of(http.get("/accounts/new").text)
        ok = http.post("/api/v1/accounts", json=body, headers={"X-CSRF-Token": token})
        assert ok.status_code == 201
        assert http.get("/accounts/abc").status_code == 404
        assert http.get("/no/such/page").status_code == 404
        away = http.get("/lang/en", params={"next": "//evil.example/"})
        assert away.headers["location"] == "/accounts"
        english = http.get("/accounts/new")
        assert "SMTP server" in english.text and 'lang="en"' in english.text


def test_account_page_shows_pause_sends_and_chart(base_url: str, app: AppContext) -> None:
    from fluenzr.core.secret import Secret
    from fluenzr.services import account_status, accounts, outbox
    from fluenzr.services.account_config import AccountInput
    from fluenzr.storage.engine import transaction
    from fluenzr.storage.events import record_event

    with httpx.Client(base_url=base_url, timeout=20) as http:
        _setup(http)
        workspace = 1
        view = accounts.create_account(
            app,
            workspace_id=workspace,
            data=AccountInput(
                email="ana@example.com",
                smtp_host="smtp.example.com",
                password=Secret(SMTP_PASSWORD),
            ),
        )
        outbox.enqueue(
            app,
            workspace_id=workspace,
            request=outbox.SendRequest(
                account_id=view.id, to=["bob@example.org"], subject="Propuesta", text="Hola"
            ),
        )
        account_status.pause(app, workspace_id=workspace, account_id=view.id)
        with transaction(app.sessions) as session:
            for kind in ("sent", "sent", "reply", "bounce"):
                record_event(session, workspace_id=workspace, type=kind, account_id=view.id)
        page = http.get(f"/accounts/{view.id}")
        assert page.status_code == 200
        assert "en pausa" in page.text and "pausada manualmente" in page.text
        assert "Propuesta" in page.text and "bob@example.org" in page.text
        assert "<svg" in page.text and "<rect" in page.text
        assert SMTP_PASSWORD not in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        listing = http.get("/accounts").text
        assert "2 / 50" in listing and "50.0 %" in listing  # 2 sent today, 1 bounce of 2 sent
        token = csrf_of(page.text)
        resumed = http.post(f"/accounts/{view.id}/resume", data={"csrf": token})
        assert resumed.status_code == 303
        assert "sin probar" in http.get(f"/accounts/{view.id}").text  # never tested


def test_team_and_token_pages(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=20) as http:
        _setup(http)
        team = http.get("/settings/workspace")
        assert team.status_code == 200 and ADMIN_EMAIL in team.text
        token = csrf_of(team.text)
        invalid = http.post(
            "/settings/workspace/invitations", data={"csrf": token, "email": "not-an-email"}
        )
        assert invalid.status_code == 422 and 'id="email-error"' in invalid.text
        invited = http.post(
            "/settings/workspace/invitations",
            data={"csrf": token, "email": "new@example.com", "role": "member"},
        )
        assert invited.status_code == 200 and invited.headers["cache-control"] == "no-store"
        assert re.search(r'id="invite-link" readonly value="[^"]+/invitations/inv_', invited.text)
        again = http.get("/settings/workspace").text
        assert "new@example.com" in again and "/invitations/inv_" not in again  # shown once

        created = http.post("/settings/tokens", data={"csrf": token, "name": "deploy"})
        assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
        value = re.search(r'id="new-token" readonly value="(flz_[^"]+)"', created.text)
        assert value is not None
        again = http.get("/settings/tokens")
        assert "deploy" in again.text and value.group(1) not in again.text
        me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {value.group(1)}"})
        assert me.status_code == 200


def test_sending_window_form(base_url: str, app: AppContext) -> None:
    from fluenzr.core.secret import Secret
    from fluenzr.services import accounts
    from fluenzr.services.account_config import AccountInput

    with httpx.Client(base_url=base_url, timeout=20) as http:
        _setup(http)
        view = accounts.create_account(
            app,
            workspace_id=1,
            data=AccountInput(
                email="w@example.com", smtp_host="smtp.example.com", password=Secret(SMTP_PASSWORD)
            ),
        )
        token = csrf_of(http.get(f"/accounts/{view.id}").text)
        form = {
            "csrf": token,
            "daily_limit": "40",
            "window": "on",
            "days": ["0", "2", "4"],
            "start": "08:30",
            "end": "17:00",
        }
        assert http.post(f"/accounts/{view.id}/settings", data=form).status_code == 303
        stored = accounts.get_account(app, workspace_id=1, account_id=view.id)
        assert stored.send_window == {"days": [0, 2, 4], "start": "08:30", "end": "17:00"}
        assert stored.daily_limit == 40
        overnight = http.post(
            f"/accounts/{view.id}/settings", data={**form, "start": "22:00", "end": "06:00"}
        )
        assert overnight.status_code == 303 and overnight.headers["location"].endswith(
            "saved=settings"
        )
        stored = accounts.get_account(app, workspace_id=1, account_id=view.id)
        assert stored.send_window == {"days": [0, 2, 4], "start": "22:00", "end": "06:00"}
        empty = http.post(
            f"/accounts/{view.id}/settings", data={**form, "start": "09:00", "end": "09:00"}
        )
        assert empty.status_code == 422 and 'id="end-error"' in empty.text
        assert http.post(f"/accounts/{view.id}/settings", data={"csrf": token}).status_code == 303
        assert accounts.get_account(app, workspace_id=1, account_id=view.id).send_window is None


def test_no_secret_on_disk_in_logs_or_pages(
    base_url: str, app: AppContext, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A password typed into "+ SMTP" or sent to the API is nowhere in clear afterwards."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with httpx.Client(base_url=base_url, timeout=20) as http:
        _setup(http)
        token = csrf_of(http.get("/accounts/new").text)
        created = http.post(
            "/accounts/new",
            data={
                "csrf": token,
                "action": "save",
                "email": "ana@example.com",
                "smtp_host": "smtp.example.com",
                "password": SMTP_PASSWORD,
                "imap_host": "imap.example.com",
                "imap_password": SMTP_PASSWORD + "-imap",
            },
        )
        assert created.status_code == 303
        for path in (
            "/accounts",
            created.headers["location"],
            "/api/v1/accounts",
            "/api/v1/accounts/1",
            "/api/v1/events",
            "/settings/tokens",
        ):
            seen.append(http.get(path).text)
        api = http.post(
            "/api/v1/accounts",
            headers={"X-CSRF-Token": token},
            json={
                "email": "b@example.com",
                "smtp_host": "smtp.example.com",
                "password": SMTP_PASSWORD,
            },
        )
        seen.append(api.text)
    forms = [
        SMTP_PASSWORD.encode(),
        base64.b64encode(SMTP_PASSWORD.encode()),
        SMTP_PASSWORD.encode().hex().encode(),
    ]
    for text in [*seen, caplog.text]:
        assert SMTP_PASSWORD not in text
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(form in data for form in forms), path


def test_live_field_check(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=20) as http:
        _setup(http)
        token = csrf_of(http.get("/accounts/new").text)
        headers = {"HX-Request": "true", "HX-Trigger-Name": "smtp_port"}
        bad = http.post(
            "/accounts/new/check", headers=headers, data={"csrf": token, "smtp_port": "70000"}
        )
        assert bad.status_code == 200
        assert 'hx-swap-oob="true"' in bad.text and 'id="smtp_port-error"' in bad.text
        good = http.post(
            "/accounts/new/check", headers=headers, data={"csrf": token, "smtp_port": "587"}
        )
        assert 'id="smtp_port-error"' not in good.text and 'value="587"' in good.text
        other = http.post(
            "/accounts/new/check", headers={**headers, "HX-Trigger-Name": "x"}, data={"csrf": token}
        )
        assert other.status_code == 204
        forged = http.post("/accounts/new/check", headers=headers, data={"csrf": "nope"})
        assert forged.status_code == 403


def test_edit_connection(base_url: str, app: AppContext) -> None:
    from fluenzr.services import accounts

    with httpx.Client(base_url=base_url, timeout=20) as http:
        _setup(http)
        token = csrf_of(http.get("/accounts/new").text)
        created = http.post(
            "/accounts/new",
            data={
                "csrf": token,
                "action": "save",
                "email": "ana@example.com",
                "smtp_host": "smtp.example.com",
                "smtp_port": "587",
                "smtp_security": "starttls",
                "password": SMTP_PASSWORD,
                "imap_host": "smtp.example.com",  # same host: the SMTP password is reused
            },
        )
        account_id = int(created.headers["location"].split("/")[2].split("?")[0])
        form = http.get(f"/accounts/{account_id}/edit")
        assert form.status_code == 200 and 'value="smtp.example.com"' in form.text
        assert SMTP_PASSWORD not in form.text
        fields = {
            "csrf": token,
            "email": "ana@example.com",
            "smtp_host": "mail.example.com",
            "smtp_port": "465",
            "smtp_security": "ssl",
            "password": "",
            "imap_host": "",
        }
        # A new server with a blank password (keep the stored one) is refused: the stored
        # password only ever goes to the server it was given for.
        kept = http.post(f"/accounts/{account_id}/edit", data=fields)
        assert kept.status_code == 422 and 'id="password-error"' in kept.text
        still = accounts.get_account(app, workspace_id=1, account_id=account_id)
        assert (still.smtp_host, still.smtp_port) == ("smtp.example.com", 587)
        fields["password"] = SMTP_PASSWORD
        saved = http.post(f"/accounts/{account_id}/edit", data=fields)
        assert saved.status_code == 303, saved.text[:500]
        view = accounts.get_account(app, workspace_id=1, account_id=account_id)
        assert (view.smtp_host, view.smtp_port, view.smtp_security) == (
            "mail.example.com",
            465,
            "ssl",
        )
        assert view.imap_host is None and view.password_set
        wrong = http.post(
            f"/accounts/{account_id}/edit", data={**fields, "smtp_security": "starttls"}
        )
        assert wrong.status_code == 422 and 'id="smtp_security-error"' in wrong.text
        forced = http.post(
            f"/accounts/{account_id}/edit",
            data={
                **fields,
                "smtp_security": "starttls",
                "force": "1",
                "password": "a-new-app-password",
            },
        )
        assert forced.status_code == 303
        assert (
            accounts.get_account(app, workspace_id=1, account_id=account_id).smtp_security
            == "starttls"
        )


def test_events_suppression_and_webhook_pages(base_url: str, app: AppContext) -> None:
    from fluenzr.storage.engine import transaction
    from fluenzr.storage.events import record_event

    with transaction(app.sessions) as session:
        record_event(session, workspace_id=1, type="bounce", recipient="gone@example.org")
        record_event(session, workspace_id=1, type="sent", recipient="bob@example.org")
    with httpx.Client(base_url=base_url, timeout=20) as http:
        _setup(http)
        events = http.get("/events", params={"type": "bounce"})
        assert "gone@example.org" in events.text and "bob@example.org" not in events.text
        token = csrf_of(events.text)
        added = http.post(
            "/settings/lists/suppressions", data={"csrf": token, "email": "Nope@Example.org"}
        )
        assert added.status_code == 303
        assert "nope@example.org" in http.get("/settings/lists").text
        twice = http.post(
            "/settings/lists/suppressions", data={"csrf": token, "email": "nope@example.org"}
        )
        assert twice.status_code == 409
        removed = http.post(
            "/settings/lists/suppressions/remove", data={"csrf": token, "email": "nope@example.org"}
        )
        assert removed.status_code == 303
        assert "nope@example.org" not in http.get("/settings/lists").text
        hook = http.post(
            "/settings/lists/webhooks",
            data={"csrf": token, "url": "https://hooks.example.com/fluenzr"},
        )
        assert hook.status_code == 200 and 'id="webhook-secret"' in hook.text
        secret = re.search(r'id="webhook-secret" readonly value="([^"]+)"', hook.text)
        assert secret is not None
        assert secret.group(1) not in http.get("/settings/lists").text
        bad = http.post("/settings/lists/webhooks", data={"csrf": token, "url": "ftp://x"})
        assert bad.status_code == 422
