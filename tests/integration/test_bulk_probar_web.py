"""Bulk Probar over real HTTP: the form and its live page, the API, and the bell.

The accounts point at a closed port on 127.0.0.1, so every test fails fast and for real
(connection refused); the rows turning green against Postfix/Dovecot are the browser test's.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from fluenzr.core.secret import Secret
from fluenzr.services import jobs
from fluenzr.services.account_config import AccountInput
from fluenzr.services.accounts import create_account
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.models.fleet import AccountTag
from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD, Caller, admin, serve

PASSWORD = "Bulk-Web-Secret-4471"


@pytest.fixture
def live(app: AppContext) -> Iterator[tuple[str, Caller]]:
    caller = admin(app)
    with serve(app, sending=False) as url:  # the test runs the jobs itself, step by step
        yield url, caller


def _accounts(app: AppContext, workspace: int, count: int) -> list[int]:
    return [
        create_account(
            app,
            workspace_id=workspace,
            data=AccountInput(
                email=f"bulk-{uuid.uuid4().hex[:8]}@example.com",
                smtp_host="127.0.0.1",
                smtp_port=9,  # discard: nothing listens on loopback here
                smtp_security="starttls",
                password=Secret(PASSWORD),
                force=True,
            ),
        ).id
        for _ in range(count)
    ]


def _login(http: httpx.Client) -> str:
    page = http.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    http.post(
        "/login", data={"csrf": token.group(1), "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    found = re.search(r'name="csrf" value="([^"]+)"', http.get("/accounts").text)
    assert found
    return found.group(1)


def test_the_button_the_live_page_and_the_bell(live: tuple[str, Caller], app: AppContext) -> None:
    url, caller = live
    ids = _accounts(app, caller.workspace_id, 3)
    with httpx.Client(base_url=url, timeout=20) as http:
        csrf = _login(http)
        listing = http.get("/accounts").text
        assert 'action="/accounts/test-bulk"' in listing and "Probar todas" in listing
        assert http.post("/accounts/test-bulk", data={"all": "1"}).status_code == 403  # no CSRF
        started = http.post("/accounts/test-bulk", data={"csrf": csrf, "all": "1", "no_send": "1"})
        assert started.status_code == 303
        where = started.headers["location"]
        job_id = int(where.rsplit("/", 1)[1])
        again = http.post("/accounts/test-bulk", data={"csrf": csrf, "account_id": str(ids[0])})
        assert again.headers["location"] == f"{where}?already=1"  # one run at a time
        waiting = http.get(where)
        assert waiting.status_code == 200 and "0 de 3 probadas" in waiting.text
        assert f'hx-get="/accounts/test-bulk/{job_id}/panel"' in waiting.text  # keeps polling
        assert waiting.text.count('data-outcome="pending"') == 4  # 3 rows + the summary item
        for account in ids:
            assert f'href="/accounts/{account}"' in waiting.text

        asyncio.run(jobs.run_jobs(app, until_idle=True))

        panel = http.get(f"{where}/panel")
        assert panel.status_code == 200 and "3 de 3 probadas" in panel.text
        assert "hx-get" not in panel.text  # done: the polling stops
        assert panel.text.count('data-outcome="failed"') == 4
        assert "Conexión rechazada" in panel.text or "rechaz" in panel.text.lower()
        assert PASSWORD not in panel.text

        bell = http.get("/notifications").text
        assert "Prueba masiva terminada: 0 correctas, 3 con errores" in bell
        assert f'href="/accounts/test-bulk/{job_id}"' in bell
        assert "la prueba ha fallado" not in bell  # the run's summary, not one item per account
        events = http.get("/events", params={"type": "bulk_job_finished"})
        assert events.status_code == 200 and "Trabajo masivo terminado" in events.text
        assert http.get("/accounts/test-bulk/999999").status_code == 404
        empty = http.post("/accounts/test-bulk", data={"csrf": csrf, "tag": "nothing"})
        assert empty.status_code == 422 and "ninguna cuenta" in empty.text


def test_the_api_starts_and_follows_a_bulk_run(live: tuple[str, Caller], app: AppContext) -> None:
    url, caller = live
    ids = _accounts(app, caller.workspace_id, 3)
    with transaction(app.sessions) as session:
        session.add(AccountTag(account_id=ids[2], tag="gandi"))
    with httpx.Client(base_url=url, headers=caller.headers, timeout=20) as http:
        bad = http.post("/api/v1/accounts/test", json={"account_ids": [0]})
        assert bad.status_code == 422
        empty = http.post("/api/v1/accounts/test", json={"tag": "nothing"})
        assert empty.status_code == 422 and empty.json()["code"] == "bulk_probar_empty"
        missing = http.post("/api/v1/accounts/test", json={"account_ids": [ids[0], 99999]})
        assert missing.status_code == 404 and missing.json()["code"] == "account_not_found"
        tagged = http.post("/api/v1/accounts/test", json={"tag": "gandi", "send_test_mail": False})
        assert tagged.status_code == 202 and tagged.json()["kind"] == "bulk_probar"
        job_id = tagged.json()["id"]
        busy = http.post("/api/v1/accounts/test", json={"all": True})
        assert busy.status_code == 409 and busy.json()["code"] == "bulk_probar_running"
        rows = http.get(f"/api/v1/accounts/test/{job_id}").json()
        assert rows["summary"]["pending"] == 1 and rows["rows"][0]["account_id"] == ids[2]

        asyncio.run(jobs.run_jobs(app, until_idle=True))

        job = http.get(f"/api/v1/jobs/{job_id}").json()
        assert job["status"] == "done" and job["ok"] is False
        assert [row["account_id"] for row in job["steps"]] == [ids[2]]
        assert job["steps"][0]["outcome"] == "failed" and job["result"]["summary"]["failed"] == 1
        assert PASSWORD not in str(job)
        listed = http.post("/api/v1/accounts/test", json={"account_ids": ids[:2]})
        assert listed.status_code == 202
        view = http.get(f"/api/v1/accounts/test/{listed.json()['id']}").json()
        assert [row["account_id"] for row in view["rows"]] == ids[:2]
