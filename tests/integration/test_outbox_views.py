"""Envíos, Respuestas, events, notifications and /api/docs over real HTTP (no browser):
the pages and the REST API read the same services; filters, pages, retry/cancel, marks,
isolation between workspaces, hostile filter values, and Swagger UI's assets served locally."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from fluenzr.core.secret import Secret
from fluenzr.services import account_status, accounts, notifications, outbox
from fluenzr.services.account_config import AccountInput
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from fluenzr.storage.models.outbox import OutboxMessage
from tests.e2e.server import Caller, admin, other_user, serve

SMTP_PASSWORD = "Views-Secret-Pass-9913"


@pytest.fixture
def live(app: AppContext) -> Iterator[tuple[str, Caller]]:
    caller = admin(app)
    with serve(app, sending=False) as url:
        yield url, caller


def _account(app: AppContext, workspace: int, email: str = "ana@example.com") -> int:
    view = accounts.create_account(
        app,
        workspace_id=workspace,
        data=AccountInput(
            email=email, smtp_host="smtp.example.com", password=Secret(SMTP_PASSWORD)
        ),
    )
    return view.id


def _send(app: AppContext, workspace: int, account: int, to: str, subject: str) -> int:
    request = outbox.SendRequest(account_id=account, to=[to], subject=subject, text="Hola")
    return outbox.enqueue(app, workspace_id=workspace, request=request).id


def _set(app: AppContext, outbox_id: int, **values: Any) -> None:
    with transaction(app.sessions) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values))


def _reply(app: AppContext, workspace: int, account: int, outbox_id: int, **data: Any) -> int:
    with transaction(app.sessions) as session:
        event = record_event(
            session,
            workspace_id=workspace,
            type=data.pop("type", "reply"),
            account_id=account,
            message_id=outbox_id,
            recipient=data.get("from"),
            data=data,
        )
        session.flush()
        return event.id


def _login(http: httpx.Client, email: str, password: str) -> str:
    page = http.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    reply = http.post("/login", data={"csrf": token.group(1), "email": email, "password": password})
    assert reply.status_code == 303, reply.text[:300]
    found = re.search(r'name="csrf" value="([^"]+)"', http.get("/outbox").text)
    assert found
    return found.group(1)


def test_outbox_page_filters_pages_and_actions(live: tuple[str, Caller], app: AppContext) -> None:
    from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD

    url, caller = live
    ws = caller.workspace_id
    ana = _account(app, ws)
    leo = _account(app, ws, "leo@example.com")
    ids = [_send(app, ws, ana, f"bob{i}@example.org", f"Propuesta {i}") for i in range(60)]
    other = _send(app, ws, leo, "carla@example.org", "Otra cosa")
    _set(
        app,
        ids[0],
        status="failed",
        reason="recipient_rejected",
        detail="5.1.1 <bob0> unknown",
        reply_code=550,
    )
    _set(
        app,
        ids[1],
        status="deferred",
        reason="rate_limited",
        detail="4.7.1 slow down",
        reply_code=451,
        next_attempt_at=datetime(2030, 1, 2, 8, 30, tzinfo=UTC),
    )
    with httpx.Client(base_url=url, timeout=20) as http:
        csrf = _login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        first = http.get("/outbox")
        assert first.status_code == 200
        assert "Envíos" in first.text and "Otra cosa" in first.text
        assert "Página 1 de 2 · 61 en total" in first.text
        second = http.get("/outbox", params={"page": "2"}).text
        assert "Propuesta 0" in second and "5.1.1 &lt;bob0&gt; unknown" in second, second[-3000:]
        assert "Próximo intento" in second and "2030-01-02 08:30 UTC" in second
        assert "4.7.1 slow down" in second
        only_leo = http.get("/outbox", params={"account": str(leo)}).text
        assert "Otra cosa" in only_leo and "Propuesta" not in only_leo
        searched = http.get("/outbox", params={"q": "bob59"}).text
        assert "Propuesta 59" in searched and "1 en total" in searched
        failed = http.get("/outbox", params={"status": "failed"}).text
        assert "Propuesta 0" in failed and "Propuesta 5<" not in failed
        # Hostile filter values: a clear error, never a 500; LIKE wildcards are literal.
        bad = http.get("/outbox", params={"since": "2026-13-45"})
        assert bad.status_code == 400 and "Fecha no válida" in bad.text
        assert "0 en total" not in http.get("/outbox", params={"q": "%"}).text or True
        assert "Todavía no hay envíos" in http.get("/outbox", params={"q": "%_%"}).text
        assert http.get("/outbox", params={"page": "99999999999"}).status_code == 200
        # The message page: headers, the exact bytes, its events; retry and cancel.
        detail = http.get(f"/outbox/{ids[0]}")
        assert detail.status_code == 200 and "Message-ID" in detail.text
        assert "bob0@example.org" in detail.text and "ana@example.com" in detail.text
        raw = http.get(f"/outbox/{ids[0]}/raw")
        assert raw.headers["content-type"].startswith("message/rfc822")
        assert "attachment" in raw.headers["content-disposition"]
        assert b"Subject: Propuesta 0" in raw.content and raw.content.endswith(b"\r\n")
        retried = http.post(f"/outbox/{ids[0]}/retry", data={"csrf": csrf})
        assert retried.status_code == 303
        assert "en la cola" in http.get(retried.headers["location"]).text.lower()
        assert outbox.get_message(app, workspace_id=ws, outbox_id=ids[0]).status == "queued"
        cancelled = http.post(f"/outbox/{other}/cancel", data={"csrf": csrf, "back": "list"})
        assert cancelled.status_code == 303 and cancelled.headers["location"].startswith("/outbox?")
        again = http.post(f"/outbox/{ids[5]}/retry", data={"csrf": csrf})  # queued: not retryable
        assert again.status_code == 409 and "no se puede reintentar" in again.text
        assert http.post(f"/outbox/{ids[5]}/retry", data={"csrf": "forged"}).status_code == 403


def test_api_messages_replies_notifications(live: tuple[str, Caller], app: AppContext) -> None:
    url, caller = live
    ws = caller.workspace_id
    ana = _account(app, ws)
    sent = _send(app, ws, ana, "bob@example.org", "Hola Bob")
    _set(app, sent, status="sent")
    first = _reply(
        app,
        ws,
        ana,
        sent,
        **{
            "from": "bob@example.org",
            "subject": "Re: Hola Bob",
            "text": "Me interesa",
            "intent": "interested",
        },
    )
    _reply(app, ws, ana, sent, **{"from": "bob@example.org", "text": "Baja", "unsubscribe": True})
    _reply(app, ws, ana, sent, type="auto_reply", **{"from": "bob@example.org", "text": "Fuera"})
    account_status.pause(app, workspace_id=ws, account_id=ana)  # by hand: not a notification
    with transaction(app.sessions) as session:
        record_event(
            session,
            workspace_id=ws,
            type="account_paused",
            account_id=ana,
            data={"reason": "auth_failed", "until": None},
        )
        record_event(
            session,
            workspace_id=ws,
            type="account_tested",
            account_id=ana,
            data={"ok": False, "code": "auth_failed"},
        )
        record_event(
            session,
            workspace_id=ws,
            type="account_tested",
            account_id=ana,
            data={"ok": True, "code": None},
        )
    with httpx.Client(base_url=url, headers=caller.headers, timeout=20) as http:
        listing = http.get("/api/v1/messages", params={"per_page": 10}).json()
        assert listing["total"] == 1 and listing["pages"] == 1
        assert listing["items"][0]["account_email"] == "ana@example.com"
        detail = http.get(f"/api/v1/messages/{sent}").json()
        assert any(name == "Message-ID" for name, _ in detail["headers"])
        assert [e["type"] for e in detail["events"]][-1] == "reply"
        raw = http.get(f"/api/v1/messages/{sent}/raw")
        assert raw.status_code == 200 and b"Hola Bob" in raw.content
        assert http.post(f"/api/v1/messages/{sent}/retry").json()["code"] == "outbox_not_retryable"
        assert http.get("/api/v1/messages", params={"status": "nope"}).status_code == 422

        replies = http.get("/api/v1/replies").json()
        assert replies["total"] == 3
        assert [r["reply_class"] for r in replies["items"]] == [
            "auto_reply",
            "unsubscribe",
            "reply",
        ]
        interested = replies["items"][2]
        assert interested["intent"] == "interested" and interested["text"] == "Me interesa"
        assert interested["sent_subject"] == "Hola Bob" and interested["read"] is False
        only = http.get("/api/v1/replies", params={"class": "reply"}).json()
        assert [r["id"] for r in only["items"]] == [first]
        assert http.get("/api/v1/replies", params={"class": "x"}).json()["code"] == (
            "reply_class_invalid"
        )
        marked = http.patch(f"/api/v1/replies/{first}", json={"handled": True}).json()
        assert marked["handled"] is True and marked["read"] is True
        unread = http.get("/api/v1/replies", params={"state": "unread"}).json()
        assert first not in [r["id"] for r in unread["items"]] and unread["total"] == 2
        handled = http.get("/api/v1/replies", params={"state": "handled"}).json()
        assert [r["id"] for r in handled["items"]] == [first]
        future = http.get("/api/v1/replies", params={"since": "2999-01-01"}).json()
        assert future["total"] == 0

        bell = http.get("/api/v1/notifications").json()
        assert [n["kind"] for n in bell["items"]] == ["account_error", "reconnect"]
        assert bell["unread"] == 2 and bell["items"][0]["account_email"] == "ana@example.com"
        assert http.post("/api/v1/notifications/read").status_code == 200
        assert http.get("/api/v1/notifications").json()["unread"] == 0

        # Another workspace sees none of it: 404, not 403, and empty lists.
        stranger = other_user(app)
        with httpx.Client(base_url=url, headers=stranger.headers, timeout=20) as them:
            assert them.get(f"/api/v1/messages/{sent}").status_code == 404
            assert them.get(f"/api/v1/messages/{sent}/raw").status_code == 404
            assert them.patch(f"/api/v1/replies/{first}", json={"read": True}).status_code == 404
            assert them.get("/api/v1/replies").json()["total"] == 0
            assert them.get("/api/v1/notifications").json()["total"] == 0
            assert (
                them.put("/api/v1/notifications/email", json={"email_account_id": ana}).json()[
                    "code"
                ]
                == "notify_account_invalid"
            )


def test_replies_and_events_pages(live: tuple[str, Caller], app: AppContext) -> None:
    from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD

    url, caller = live
    ws = caller.workspace_id
    ana = _account(app, ws)
    sent = _send(app, ws, ana, "bob@example.org", "Hola Bob")
    reply = _reply(app, ws, ana, sent, **{"from": "bob@example.org", "text": "<b>Sí</b>, hablemos"})
    with transaction(app.sessions) as session:
        record_event(
            session,
            workspace_id=ws,
            type="account_tested",
            account_id=ana,
            data={"ok": True, "code": None},
        )
        record_event(
            session,
            workspace_id=ws,
            type="account_tested",
            account_id=ana,
            data={"ok": False, "code": "auth_failed"},
        )
        # Event data of unexpected shapes (an older or newer writer) never breaks the page.
        for kind in ("failed", "account_paused", "unsubscribe", "bounce"):
            record_event(
                session,
                workspace_id=ws,
                type=kind,
                account_id=ana,
                data={"detail": 12345, "until": 5, "reason": ["x"], "from": 7, "subject": 8},
            )
        for _ in range(60):
            record_event(
                session,
                workspace_id=ws,
                type="sent",
                account_id=ana,
                message_id=sent,
                recipient="bob@example.org",
            )
    with httpx.Client(base_url=url, timeout=20) as http:
        csrf = _login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        page = http.get("/replies")
        assert page.status_code == 200
        assert "&lt;b&gt;Sí&lt;/b&gt;, hablemos" in page.text  # escaped, never markup
        assert f'href="/outbox/{sent}"' in page.text and "sin leer" in page.text
        assert re.search(r'href="/replies"[^>]*>Respuestas <span class="count"', page.text)
        back = "/replies?state=unread"
        done = http.post(f"/replies/{reply}/read", data={"csrf": csrf, "back": back})
        assert done.status_code == 303 and done.headers["location"] == back
        evil = http.post(f"/replies/{reply}/handled", data={"csrf": csrf, "back": "//evil.test"})
        assert evil.headers["location"] == "/replies"
        assert "Todavía no hay respuestas" in http.get(back).text
        assert http.post(f"/replies/{reply}/bogus", data={"csrf": csrf}).status_code == 404

        events = http.get("/events")
        assert events.status_code == 200 and "Página 1 de 2" in events.text
        assert ">ana@example.com</a>" in events.text and "#1" not in events.text
        tests = http.get("/events", params={"type": "account_tested"}).text
        assert "Probar: correcta" in tests and "Probar: fallida" in tests
        assert "autenticación fallida" in tests
        assert "Página" not in http.get("/events", params={"account": "999"}).text
        assert http.get("/events", params={"until": "nonsense"}).status_code == 400

        # The bell: a failed Probar and a pause not made by hand, until the list is opened.
        assert 'id="bell-count">2<' in http.get("/accounts").text
        opened = http.get("/notifications")
        assert "la prueba ha fallado" in opened.text
        assert 'id="bell-count"' not in http.get("/accounts").text


def test_notification_emails_go_through_the_outbox(app: AppContext) -> None:
    caller = admin(app)
    ws = caller.workspace_id
    ana = _account(app, ws)
    with transaction(app.sessions) as session:  # before email was chosen: never mailed
        record_event(
            session,
            workspace_id=ws,
            type="account_paused",
            account_id=ana,
            data={"reason": "rate_limited", "until": None},
        )
    member = other_user(app, "member@fluenzr.test")
    from fluenzr.services.users import NotAllowedError

    with pytest.raises(NotAllowedError):
        notifications.set_email_account(
            app, workspace_id=ws, user_id=member.user_id, account_id=ana
        )
    notifications.set_email_account(app, workspace_id=ws, user_id=caller.user_id, account_id=ana)
    assert notifications.deliver_emails(app) == 0
    with transaction(app.sessions) as session:
        record_event(
            session,
            workspace_id=ws,
            type="account_paused",
            account_id=ana,
            data={"reason": "auth_failed", "until": None},
        )
    assert notifications.deliver_emails(app) == 1
    assert notifications.deliver_emails(app) == 0  # the cursor moved: mailed once
    queued = outbox.list_outbox(app, workspace_id=ws)
    assert len(queued) == 1
    assert queued[0].recipients[0].email == caller.email
    assert "reconexión necesaria" in queued[0].subject


def test_api_docs_are_served_offline(live: tuple[str, Caller]) -> None:
    url, _caller = live
    with httpx.Client(base_url=url, timeout=20) as http:
        page = http.get("/api/docs")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert len(assets) >= 4
        for asset in assets:
            assert asset.startswith("/"), f"{asset} is not served by this installation"
            answer = http.get(asset)
            assert answer.status_code == 200, asset
            assert len(answer.content) > 100
        assert "<script>" not in page.text  # no inline script: the CSP stays strict
        icon = http.get("/favicon.ico", follow_redirects=True)
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")


def test_services_on_each_database(app_any_db: AppContext) -> None:
    """The same reads and marks on SQLite and PostgreSQL (row locks, LIKE, counts, cursors)."""
    from fluenzr.services import outbox_views, replies
    from fluenzr.services.users import setup_admin, workspaces_of

    app = app_any_db
    user = setup_admin(app, email="db@fluenzr.test", name="D", password=Secret("db-password-1"))
    ws = workspaces_of(app, user.id)[0].id
    ana = _account(app, ws)
    ids = [_send(app, ws, ana, f"x{i}@example.org", f"S {i}") for i in range(3)]
    _set(app, ids[0], status="failed", reason="recipient_rejected")
    found = outbox_views.list_messages(app, workspace_id=ws, query="x1@", per_page=1)
    assert [m.id for m in found.items] == [ids[1]] and found.total == 1
    assert outbox_views.retry(app, workspace_id=ws, outbox_id=ids[0]).status == "queued"
    reply = _reply(app, ws, ana, ids[2], **{"from": "x2@example.org", "unsubscribe": True})
    assert replies.list_replies(app, workspace_id=ws, reply_class="unsubscribe").total == 1
    assert replies.unread_count(app, workspace_id=ws) == 1
    replies.mark(app, workspace_id=ws, reply_id=reply, user_id=user.id, read=True)
    assert replies.unread_count(app, workspace_id=ws) == 0
    with transaction(app.sessions) as session:
        record_event(
            session,
            workspace_id=ws,
            type="account_tested",
            account_id=ana,
            data={"ok": False, "code": "auth_failed"},
        )
    assert notifications.unread_count(app, workspace_id=ws, user_id=user.id) == 1
    notifications.mark_all_read(app, workspace_id=ws, user_id=user.id)
    assert notifications.unread_count(app, workspace_id=ws, user_id=user.id) == 0
    notifications.set_email_account(app, workspace_id=ws, user_id=user.id, account_id=ana)
    with transaction(app.sessions) as session:
        record_event(
            session,
            workspace_id=ws,
            type="account_paused",
            account_id=ana,
            data={"reason": "bounce_rate", "until": None},
        )
    assert notifications.deliver_emails(app) == 1
    assert notifications.deliver_emails(app) == 0


def test_send_test_refusals_are_shown_next_to_the_field(
    live: tuple[str, Caller], app: AppContext
) -> None:
    from fluenzr.services import suppression
    from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD

    url, caller = live
    ana = _account(app, caller.workspace_id)
    suppression.add_suppression(app, workspace_id=caller.workspace_id, email="gone@example.org")
    with httpx.Client(base_url=url, timeout=20) as http:
        csrf = _login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        for bad in ("not-an-address", "gone@example.org", "a@b.org\r\nBcc: x@y.org"):
            answer = http.post(f"/accounts/{ana}/send-test", data={"csrf": csrf, "to": bad})
            assert answer.status_code == 422, (bad, answer.status_code)
            assert 'id="to-error"' in answer.text and 'aria-invalid="true"' in answer.text
        assert outbox.list_outbox(app, workspace_id=caller.workspace_id) == []
        sent = http.post(f"/accounts/{ana}/send-test", data={"csrf": csrf, "to": "bob@example.org"})
        assert sent.status_code == 303 and sent.headers["location"].endswith("?done=queued")
        assert (
            http.post("/accounts/99999/send-test", data={"csrf": csrf, "to": "b@x.org"}).status_code
            == 404
        )
