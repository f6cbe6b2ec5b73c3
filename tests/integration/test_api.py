"""REST API over real HTTP (uvicorn on 127.0.0.1, port 0), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest

from fluenzr.core.secret import Secret
from fluenzr.services.context import AppContext
from fluenzr.services.jobs import run_jobs
from tests.e2e.server import Caller, admin, other_user, serve

PASSWORD = "S3cret-Pa55word-ñ"
ACCOUNT = {
    "email": "ana@example.com",
    "display_name": "Ana",
    "smtp_host": "smtp.example.com",
    "smtp_port": 587,
    "smtp_security": "tls",
    "password": PASSWORD,
    "imap_host": "smtp.example.com",  # the same host: the SMTP password may be reused
}


@pytest.fixture
def base_url(app_any_db: AppContext) -> Iterator[str]:
    with serve(app_any_db, sending=False) as url:
        yield url


@pytest.fixture
def caller(app_any_db: AppContext) -> Caller:
    return admin(app_any_db)


def _client(url: str, caller: Caller | None = None, lang: str = "es") -> httpx.Client:
    headers = {"Accept-Language": lang, **(caller.headers if caller else {})}
    return httpx.Client(base_url=url, headers=headers, timeout=20)


def test_accounts_crud_and_errors(base_url: str, caller: Caller) -> None:
    with _client(base_url, caller) as http:
        created = http.post("/api/v1/accounts", json=ACCOUNT)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["password_set"] is True
        assert body["smtp_security"] == "starttls"
        assert PASSWORD not in created.text and "password" not in {
            k for k in body if k != "password_set" and not k.endswith("_set")
        }
        account_id = body["id"]

        assert [a["id"] for a in http.get("/api/v1/accounts").json()] == [account_id]
        shown = http.get(f"/api/v1/accounts/{account_id}")
        assert shown.status_code == 200 and PASSWORD not in shown.text

        patched = http.patch(f"/api/v1/accounts/{account_id}", json={"daily_limit": 25})
        assert patched.status_code == 200 and patched.json()["daily_limit"] == 25

        duplicate = http.post("/api/v1/accounts", json=ACCOUNT)
        assert duplicate.status_code == 409
        assert duplicate.json()["code"] == "account_duplicate"
        assert duplicate.json()["field"] == "email"

        bad_port = http.post(
            "/api/v1/accounts",
            json={**ACCOUNT, "email": "b@example.com", "smtp_port": 465, "smtp_security": "tls"},
        )
        assert bad_port.status_code == 422
        problem = bad_port.json()
        assert problem["code"] == "security_port_mismatch"
        assert problem["field"] == "smtp_security"
        assert problem["message"] and problem["hint"]

        deleted = http.delete(f"/api/v1/accounts/{account_id}")
        assert deleted.status_code == 204
        gone = http.get(f"/api/v1/accounts/{account_id}")
        assert gone.status_code == 404 and gone.json()["code"] == "account_not_found"


def test_errors_follow_accept_language(base_url: str, caller: Caller) -> None:
    texts = {}
    for lang in ("es", "en", "fr"):
        with _client(base_url, caller, lang=lang) as http:
            reply = http.post("/api/v1/accounts", json={**ACCOUNT, "email": "not-an-email"})
        assert reply.status_code == 422
        assert reply.json()["code"] == "email_invalid"
        texts[lang] = reply.json()["message"]
    assert len(set(texts.values())) == 3


def test_schema_validation_is_422_with_field(base_url: str, caller: Caller) -> None:
    with _client(base_url, caller, lang="en") as http:
        reply = http.post("/api/v1/accounts", json={**ACCOUNT, "smtp_port": 70000})
        assert reply.status_code == 422
        assert reply.json()["code"] == "invalid_input" and reply.json()["field"] == "smtp_port"
        nul = http.post("/api/v1/accounts", json={**ACCOUNT, "display_name": "a\u0000b"})
        assert nul.status_code == 422 and nul.json()["code"] == "invalid_text"
        huge = http.get("/api/v1/accounts/99999999999")
        assert huge.status_code == 422


def test_other_workspace_sees_404(app_any_db: AppContext, base_url: str, caller: Caller) -> None:
    stranger = other_user(app_any_db)
    with _client(base_url, caller) as http:
        account_id = http.post("/api/v1/accounts", json=ACCOUNT).json()["id"]
        job_id = http.post(f"/api/v1/accounts/{account_id}/test").json()["id"]
    with _client(base_url, stranger) as http:
        assert http.get("/api/v1/accounts").json() == []
        for method, path in (
            ("GET", f"/api/v1/accounts/{account_id}"),
            ("PATCH", f"/api/v1/accounts/{account_id}"),
            ("DELETE", f"/api/v1/accounts/{account_id}"),
            ("POST", f"/api/v1/accounts/{account_id}/test"),
            ("GET", f"/api/v1/jobs/{job_id}"),
        ):
            kwargs = {"json": {"daily_limit": 1}} if method == "PATCH" else {}
            reply = http.request(method, path, **kwargs)
            assert reply.status_code == 404, (method, path, reply.text)
        # Same email in another workspace is allowed: workspaces are independent.
        assert http.post("/api/v1/accounts", json=ACCOUNT).status_code == 201


def test_authentication(base_url: str, caller: Caller) -> None:
    # 20 s as in _client: the first /openapi.json of a process builds every model's schema,
    # seconds on a loaded machine (whichever test asks first pays; under xdist, order varies).
    with httpx.Client(base_url=base_url, timeout=20) as http:
        health = http.get("/api/v1/health").json()
        assert health["ok"] is True and health["database"] == "ok"
        assert http.get("/api/v1/accounts").status_code == 401
        bad = http.get("/api/v1/accounts", headers={"Authorization": "Bearer flz_nope"})
        assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
        assert http.get("/openapi.json").status_code == 200
    with _client(base_url, caller) as http:
        me = http.get("/api/v1/me").json()
        assert me["email"] == caller.email and me["workspace_id"] == caller.workspace_id
        made = http.post("/api/v1/tokens", json={"name": "ci"})
        assert made.status_code == 201
        token = made.json()["token"]
        listed = http.get("/api/v1/tokens").text
        assert token not in listed
        new_headers = {"Authorization": f"Bearer {token}"}
        assert http.get("/api/v1/me", headers=new_headers).status_code == 200
        assert http.delete(f"/api/v1/tokens/{made.json()['id']}").status_code == 204
        assert http.get("/api/v1/me", headers=new_headers).status_code == 401


def test_presets_and_autodetect(base_url: str, caller: Caller) -> None:
    with _client(base_url, caller) as http:
        presets = http.get("/api/v1/presets").json()
        zoho = next(p for p in presets if p["key"] == "zoho-eu")
        assert zoho["smtp_host"] == "smtp.zoho.eu" and zoho["app_password_required"]
        assert "App Password" in zoho["note"]
        assert http.get("/api/v1/presets/nope").status_code == 422
        found = http.post("/api/v1/autodetect", json={"email": "ana@zoho.eu"}).json()
        assert found["smtp_host"] == "smtp.zoho.eu" and found["username"] == "ana@zoho.eu"
        assert found["source"] == "preset" and found["app_password_required"] is True
        unknown = http.post("/api/v1/autodetect", json={"email": "ana@nowhere.example"})
        assert unknown.status_code == 200 and unknown.json()["detection"]["ok"] is False
        bad = http.post("/api/v1/autodetect", json={"email": "not an email"})
        assert bad.status_code == 422 and bad.json()["field"] == "email"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_probar_job_is_queued_and_run_by_the_sending_system(
    app_any_db: AppContext, base_url: str, caller: Caller
) -> None:
    nobody = {
        **ACCOUNT,
        "smtp_host": "127.0.0.1",
        "smtp_port": _closed_port(),
        "smtp_security": "ssl",
        "imap_host": "",
        "force": True,
    }
    with _client(base_url, caller, lang="en") as http:
        created = http.post("/api/v1/accounts", json=nobody)
        assert created.status_code == 201, created.text
        account_id = created.json()["id"]
        queued = http.post(f"/api/v1/accounts/{account_id}/test", json={"send_test_mail": False})
        assert queued.status_code == 202
        job = queued.json()
        assert job["status"] == "pending" and job["steps"] == []
        # The web role only queues; a separate sending system runs it.
        asyncio.run(run_jobs(app_any_db, until_idle=True))
        done = http.get(f"/api/v1/jobs/{job['id']}").json()
        assert done["status"] == "done" and done["ok"] is False
        failed = [step["name"] for step in done["steps"] if step["status"] == "failed"]
        assert failed == ["tcp"], done["steps"]
        assert done["result"]["error"]["category"] == "connection"
        assert PASSWORD not in str(done)
        latest = http.get(f"/api/v1/accounts/{account_id}/tests/latest").json()
        assert latest["id"] == job["id"]
        with http.stream("GET", f"/api/v1/jobs/{job['id']}/events") as stream:
            text = "".join(stream.iter_text())
        assert "event: step" in text and "event: done" in text
        account = http.get(f"/api/v1/accounts/{account_id}").json()
        assert account["last_test_ok"] is False


def test_pause_resume_outbox_events_suppression(
    app_any_db: AppContext, base_url: str, caller: Caller
) -> None:
    stranger = other_user(app_any_db)
    with _client(base_url, caller, lang="en") as http:
        account_id = http.post("/api/v1/accounts", json=ACCOUNT).json()["id"]
        paused = http.post(f"/api/v1/accounts/{account_id}/pause")
        assert paused.status_code == 200 and paused.json()["status"] == "paused"
        resumed = http.post(f"/api/v1/accounts/{account_id}/resume")
        assert resumed.status_code == 200 and resumed.json()["status"] == "active"
        again = http.post(f"/api/v1/accounts/{account_id}/resume")
        assert again.status_code == 409

        mail = {
            "account_id": account_id,
            "to": ["bob@example.org"],
            "subject": "Hola",
            "text": "Hola Bob",
        }
        queued = http.post("/api/v1/outbox", json=mail)
        assert queued.status_code == 201, queued.text
        outbox_id = queued.json()["id"]
        assert [m["id"] for m in http.get("/api/v1/outbox").json()] == [outbox_id]
        bad = http.post("/api/v1/outbox", json={**mail, "to": ["not an address"]})
        assert bad.status_code == 422 and bad.json()["field"]
        cancelled = http.post(f"/api/v1/outbox/{outbox_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert http.post(f"/api/v1/outbox/{outbox_id}/cancel").status_code == 409

        types = {e["type"] for e in http.get("/api/v1/events").json()}
        assert {"account_paused", "account_resumed"} <= types
        assert http.get("/api/v1/events", params={"type": "nope"}).status_code == 422

        added = http.post("/api/v1/suppressions", json={"email": "Gone@Example.org"})
        assert added.status_code == 201
        assert (
            http.post("/api/v1/suppressions", json={"email": "gone@example.org"}).status_code == 409
        )
        assert [s["email"] for s in http.get("/api/v1/suppressions").json()] == ["gone@example.org"]
        assert http.delete("/api/v1/suppressions/gone@example.org").status_code == 204

        hooks = http.get("/api/v1/webhooks")
        assert hooks.status_code == 200 and hooks.json() == []
    with _client(base_url, stranger) as http:
        assert http.get("/api/v1/outbox").json() == []
        assert http.get(f"/api/v1/outbox/{outbox_id}").status_code == 404
        assert http.post(f"/api/v1/outbox/{outbox_id}/cancel").status_code == 404
        assert http.post(f"/api/v1/accounts/{account_id}/pause").status_code == 404
        # Naming another workspace's account in a body looks exactly like naming no account.
        foreign = http.post("/api/v1/outbox", json={**mail, "account_id": account_id})
        missing = http.post("/api/v1/outbox", json={**mail, "account_id": 999_999})
        assert foreign.status_code == missing.status_code in (404, 422)
        assert foreign.json()["code"] == missing.json()["code"] == "account_not_found"
        assert http.get("/api/v1/events").json() == []


def test_workspace_members(app_any_db: AppContext, base_url: str, caller: Caller) -> None:
    from fluenzr.services import invitations, tokens
    from fluenzr.services.users import create_user

    colleague, _ws = create_user(
        app_any_db,
        email="colleague@example.com",
        password=Secret("colleague-pass-1"),
        new_workspace="Colleague's",
    )
    with _client(base_url, caller, lang="en") as http:
        invited = http.post(
            "/api/v1/workspaces/current/invitations", json={"email": "colleague@example.com"}
        )
        assert invited.status_code == 201, invited.text
        assert invited.json()["role"] == "member" and "/invitations/inv_" in invited.json()["url"]
        emails = [m["email"] for m in http.get("/api/v1/workspace/members").json()]
        assert emails == ["admin@fluenzr.test"]  # invited, not attached
        last_owner = http.delete(f"/api/v1/workspace/members/{caller.user_id}")
        assert last_owner.status_code == 409
    member_id = colleague.id
    invitations.accept(app_any_db, token=invited.json()["token"], user_id=member_id)
    with _client(base_url, caller, lang="en") as http:
        emails = [m["email"] for m in http.get("/api/v1/workspace/members").json()]
        assert emails == ["admin@fluenzr.test", "colleague@example.com"]
        again = http.post(
            "/api/v1/workspaces/current/invitations", json={"email": "colleague@example.com"}
        )
        assert again.status_code == 409

    _view, secret = tokens.create_token(
        app_any_db, user_id=member_id, workspace_id=caller.workspace_id, name="m"
    )
    member = {"Authorization": f"Bearer {secret.reveal()}"}
    with httpx.Client(base_url=base_url, headers=member) as http:
        # A member sees the workspace's accounts but cannot manage its members.
        assert http.get("/api/v1/accounts").status_code == 200
        refused = http.post("/api/v1/workspaces/current/invitations", json={"email": "x@e.com"})
        assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
    with _client(base_url, caller) as http:
        assert http.delete(f"/api/v1/workspace/members/{member_id}").status_code == 204
    with httpx.Client(base_url=base_url, headers=member) as http:
        assert http.get("/api/v1/accounts").status_code == 401  # no longer a member


def test_send_window(base_url: str, caller: Caller) -> None:
    with _client(base_url, caller, lang="en") as http:
        account_id = http.post("/api/v1/accounts", json=ACCOUNT).json()["id"]
        window = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}
        set_ = http.put(f"/api/v1/accounts/{account_id}/send-window", json=window)
        assert set_.status_code == 200 and set_.json()["send_window"] == window
        bad = http.put(
            f"/api/v1/accounts/{account_id}/send-window", json={**window, "start": "18:00"}
        )
        assert bad.status_code == 422 and bad.json()["code"] == "window_hours_invalid"
        cleared = http.delete(f"/api/v1/accounts/{account_id}/send-window")
        assert cleared.status_code == 200 and cleared.json()["send_window"] is None
