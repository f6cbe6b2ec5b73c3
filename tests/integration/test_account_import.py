"""Bulk import through the service, the CLI, the API and the page, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from fluenzr.services import account_csv, account_import, bulk_probar, notifications
from fluenzr.services.accounts import open_credentials
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.storage.models import Account
from fluenzr.storage.models.fleet import AccountTag
from fluenzr.storage.models.users import Job
from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD, Caller, admin, csrf_of, serve
from tests.support.cli import Cli

SECRET = "Imp0rt-Secret-ñ-%d"
CSV = (
    "Email,First Name,Last Name,SMTP Host,SMTP Port,Password,IMAP Host,Tags,Warmup Start\n"
    f"ana@example.com,Ana,García,smtp.example.com,587,{SECRET % 1},smtp.example.com,Agency; Q3,5\n"
    f"bob@example.com,Bob,,smtp.example.com,465,{SECRET % 2},,eu|Agency,\n"
    f"bad@,X,,smtp.example.com,99999,{SECRET % 3},,,\n"
    f"ana@example.com,Dup,,smtp.example.com,587,{SECRET % 4},,,\n"
    f"cat@example.com,Cat,,smtp.example.com,587,{SECRET % 5},imap.other.example,,\n"
)


def _state(ctx: AppContext) -> tuple[int, list[tuple[int, str]]]:
    with ctx.sessions() as session:
        count = session.scalar(select(func.count()).select_from(Account)) or 0
        tags = session.execute(select(AccountTag.account_id, AccountTag.tag)).all()
        return count, sorted((a, t) for a, t in tags)


def _no_secret(text: str) -> None:
    assert "Imp0rt-Secret" not in text


def test_dry_run_then_import_then_reimport(app_any_db: AppContext) -> None:
    ctx = app_any_db
    ws = default_workspace_id(ctx.sessions)
    parsed = account_csv.parse_csv(CSV.encode())

    dry = account_import.run_import(ctx, parsed, workspace_id=ws, dry_run=True, lang="en")
    assert [r.status for r in dry.rows] == ["new", "new", "invalid", "invalid", "invalid"]
    assert _state(ctx) == (0, [])

    real = account_import.run_import(ctx, parsed, workspace_id=ws, lang="en")
    by_line = {r.line: r for r in real.rows}
    assert by_line[2].status == by_line[3].status == "created"
    assert [(e["field"], e["code"]) for e in by_line[4].errors] == [("smtp_port", "port_invalid")]
    assert by_line[5].errors[0]["code"] == "import_duplicate_in_file"
    assert "line 2" in by_line[5].errors[0]["message"]
    # The form's rule: another IMAP host needs its own password; nothing of the row is written.
    assert by_line[6].errors[0]["code"] == "imap_password_required"
    assert not real.ok
    ana, bob = by_line[2].account_id, by_line[3].account_id
    assert ana is not None and bob is not None
    assert _state(ctx) == (
        2,
        sorted([(ana, "agency"), (ana, "q3"), (bob, "eu"), (bob, "agency")]),
    )
    with ctx.sessions() as session:
        stored = session.get(Account, ana)
        assert stored is not None
        assert (stored.display_name, stored.warmup_start) == ("Ana García", 5)
    assert open_credentials(ctx, account_id=ana).smtp.password.reveal() == SECRET % 1

    job = account_import.record_job(ctx, real, workspace_id=ws, options={"rows": 5})
    _no_secret(job.model_dump_json())
    assert job.kind == "import" and job.status == "done" and job.ok is False

    again = account_import.run_import(ctx, parsed, workspace_id=ws, lang="en")
    assert [r.status for r in again.rows][:2] == ["exists", "exists"]
    assert again.rows[0].errors[0]["code"] == "import_account_exists"
    assert "--update" in again.rows[0].errors[0]["hint"]
    assert _state(ctx)[0] == 2


def test_update_applies_only_the_given_columns(app_any_db: AppContext) -> None:
    ctx = app_any_db
    ws = default_workspace_id(ctx.sessions)
    first = account_csv.parse_csv(CSV.encode())
    account_import.run_import(ctx, first, workspace_id=ws)
    change = account_csv.parse_csv(b"Email,Daily Limit,Tags\nana@example.com,20,new\n")
    dry = account_import.run_import(ctx, change, workspace_id=ws, dry_run=True, update=True)
    assert dry.rows[0].status == "update"
    report = account_import.run_import(ctx, change, workspace_id=ws, update=True)
    assert report.rows[0].status == "updated", report.rows[0].errors
    with ctx.sessions() as session:
        stored = session.scalar(select(Account).where(Account.email == "ana@example.com"))
        assert stored is not None
        assert (stored.daily_limit, stored.display_name) == (20, "Ana García")
    assert ("new" in {t for _, t in _state(ctx)[1]}) is True


@pytest.fixture
def cli(home: Path, db_url: str) -> Cli:
    return Cli(home=home, database_url=db_url)


def test_cli_import(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(CSV, encoding="utf-8")
    dry = cli("accounts", "import", str(path), "--dry-run", "--json")
    assert dry.exit_code == 1  # some rows fail
    data = dry.json()
    assert isinstance(data, dict)
    assert data["dry_run"] is True and data["counts"] == {"new": 2, "invalid": 3}
    listed = cli("accounts", "list", "--json").json()
    assert isinstance(listed, dict) and listed["total"] == 0 and listed["accounts"] == []
    real = cli("--lang", "en", "accounts", "import", str(path))
    assert real.exit_code == 1
    _no_secret(real.stdout + real.stderr)
    assert "is not a valid port" in real.stdout
    good = tmp_path / "good.csv"
    good.write_text(CSV.split("\n", 3)[0] + "\n" + CSV.split("\n")[1] + "\n", encoding="utf-8")
    again = cli("accounts", "import", str(good), "--json")
    assert again.exit_code == 0, again.stdout
    assert again.json()["counts"] == {"exists": 1}  # type: ignore[index]
    missing = cli("accounts", "import", str(tmp_path / "nope.csv"), "--json")
    assert missing.exit_code != 0 and "file_unreadable" in missing.stdout


@pytest.fixture
def base_url(app_any_db: AppContext) -> Iterator[str]:
    with serve(app_any_db, sending=False) as url:
        yield url


def test_api_import_multipart_json_and_job(
    app_any_db: AppContext, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rolled: list[int] = []

    def spy(self: tempfile.SpooledTemporaryFile[bytes]) -> None:
        rolled.append(1)  # the upload would now be written to a temporary file on disk

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", spy)
    caller: Caller = admin(app_any_db)
    with httpx.Client(base_url=base_url, headers=caller.headers, timeout=30) as http:
        dry = http.post(
            "/api/v1/accounts/import",
            files={"file": ("a.csv", CSV.encode(), "text/csv")},
            data={"dry_run": "true"},
        )
        assert dry.status_code == 201, dry.text
        _no_secret(dry.text)
        assert dry.json()["result"]["counts"] == {"new": 2, "invalid": 3}
        assert http.get("/api/v1/accounts").json() == []

        real = http.post("/api/v1/accounts/import", files={"file": ("a.csv", CSV.encode())})
        job = real.json()
        assert job["kind"] == "import" and job["ok"] is False
        assert job["result"]["counts"] == {"created": 2, "invalid": 3}
        read = http.get(f"/api/v1/accounts/import/{job['id']}")
        assert read.status_code == 200 and read.json()["result"] == job["result"]
        assert http.get(f"/api/v1/jobs/{job['id']}").json()["kind"] == "import"
    # The real run, not the dry one, is one notification with its counts.
    workspace = caller.workspace_id
    found = notifications.list_notifications(
        app_any_db, workspace_id=workspace, user_id=caller.user_id
    )
    done = [(n.job_id, n.job_kind, n.succeeded, n.failed, n.total) for n in found.items]
    assert (job["id"], "import", 2, 3, 5) in done and len(done) == 1
    with httpx.Client(base_url=base_url, headers=caller.headers, timeout=30) as http:
        body = {
            "paste": f"dan@example.com,{SECRET % 9}\neve@example.com",
            "server": {"smtp_host": "smtp.example.com", "imap_host": "smtp.example.com"},
        }
        pasted = http.post("/api/v1/accounts/import", json=body)
        assert pasted.status_code == 201, pasted.text
        statuses = [r["status"] for r in pasted.json()["result"]["rows"]]
        assert statuses == ["created", "invalid"]
        rows = {"rows": [{"from_email": "fay@example.com", "smtp_host": "smtp.example.com"}]}
        assert (
            http.post("/api/v1/accounts/import", json={**rows, "dry_run": True}).status_code == 201
        )
        bad = http.post("/api/v1/accounts/import", json={"rows": [{"x": "y"}], "nope": 1})
        assert bad.status_code == 422
        _no_secret(bad.text)
        binary = http.post("/api/v1/accounts/import", files={"file": ("a.xlsx", b"PK\x03\x04xx")})
        assert binary.status_code == 422 and binary.json()["code"] == "import_file_binary"
        # 3 MB (over Starlette's 1 MB spool): parsed in memory, never written to disk.
        big = b"Email,Name\na@example.com," + b"n" * (3 * 1024 * 1024) + b"\n"
        kept = http.post("/api/v1/accounts/import", files={"file": ("b.csv", big)})
        assert kept.json()["result"]["rows"][0]["errors"][0]["code"] == "import_cell_too_long"
        assert rolled == []
        huge = b"Email\n" + b"a" * (account_csv.MAX_BYTES + 2 * 1024 * 1024)
        assert (
            http.post("/api/v1/accounts/import", files={"file": ("h.csv", huge)}).status_code == 413
        )
    with app_any_db.sessions() as session:
        for result in session.scalars(select(Job.result)):
            _no_secret(result or "")


def test_web_upload_mapping_preview_import_results(app: AppContext, tmp_path: Path) -> None:
    with (
        serve(app, sending=False) as url,
        httpx.Client(base_url=url, timeout=30, follow_redirects=True) as http,
    ):
        setup = http.get("/setup")
        http.post(
            "/setup",
            data={"csrf": csrf_of(setup.text), "email": ADMIN_EMAIL, "name": "A",
                  "password": ADMIN_PASSWORD},
        )  # fmt: skip
        page = http.get("/accounts")
        assert 'href="/accounts/import"' in page.text
        form_page = http.get("/accounts/import")
        csrf = csrf_of(form_page.text)
        assert http.post("/accounts/import/preview", data={"csrf": "x"}).status_code == 403
        data = b"Login,Secret\nana@example.com,pw-Imp0rt-Secret\n"
        files = {"file": ("a.csv", data, "text/csv")}
        refused = http.post(
            "/accounts/import/preview",
            data={"csrf": csrf},
            files=files,
            headers={"HX-Request": "true"},
        )
        assert refused.status_code == 200 and "import-mapping" not in refused.text
        mapped = {"csrf": csrf, "map.0": "from_email", "map.1": "smtp_password"}
        preview = http.post(
            "/accounts/import/preview", data=mapped, files=files, headers={"HX-Request": "true"}
        )
        assert preview.status_code == 200
        assert 'id="import-mapping"' in preview.text and "import-invalid" in preview.text
        _no_secret(preview.text)  # the missing server is reported, the password never shown
        csv_data = CSV.encode()
        files = {"file": ("a.csv", csv_data, "text/csv")}
        done = http.post("/accounts/import", data={"csrf": csrf}, files=files)
        assert done.status_code == 200 and "/accounts/import/" in str(done.url)
        _no_secret(done.text)
        assert done.text.count('class="import-created"') == 2
        assert "99999" in done.text
        job_id = str(done.url).rstrip("/").rsplit("/", 1)[-1]
        exported = http.get(f"/accounts/import/{job_id}/results.csv")
        assert exported.status_code == 200 and exported.text.startswith("line,email,status")
        _no_secret(exported.text)
        paste_page = http.get("/accounts/import?mode=paste")
        assert 'id="paste-form"' in paste_page.text and 'name="lines"' in paste_page.text
        paste_preview = http.post(
            "/accounts/import/paste/preview",
            data={"csrf": csrf, "preset": "zoho-eu", "lines": "p@example.com,Imp0rt-Secret-x\nno"},
            headers={"HX-Request": "true"},
        )
        assert 'class="import-new"' in paste_preview.text
        assert "import-mapping" not in paste_preview.text  # paste mode has no columns to map
        assert "import-invalid" in paste_preview.text
        _no_secret(paste_preview.text)
        paste = http.post(
            "/accounts/import/paste",
            data={"csrf": csrf, "smtp_host": "smtp.example.com", "lines": "zed@example.com,pw"},
        )
        assert paste.status_code == 200 and 'class="import-created"' in paste.text
        # "Probar todas después de importar": the results link to the bulk Probar's live page.
        tested = http.post(
            "/accounts/import/paste",
            data={"csrf": csrf, "smtp_host": "smtp.example.com", "lines": "yan@example.com,pw",
                  "test": "1"},
        )  # fmt: skip
        link = re.search(r'href="(/accounts/test-bulk/\d+)" id="import-test-link"', tested.text)
        assert link, tested.text[-2000:]
        assert http.get(link.group(1)).status_code == 200
        assert http.get("/accounts/import/999999").status_code == 404
    with app.sessions() as session:
        results = [json.loads(r or "{}") for r in session.scalars(select(Job.result))]
        assert all("Imp0rt-Secret" not in json.dumps(r) for r in results)


def test_import_then_test_all(cli: Cli, app_any_db: AppContext, tmp_path: Path) -> None:
    """--test / "Probar todas": a real Probar of each imported account (a closed port here)."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: Probar's connection is refused at once
    path = tmp_path / "t.csv"
    path.write_text(
        "from_email,smtp_host,smtp_port,smtp_security,smtp_password\n"
        f"t1@example.com,127.0.0.1,{port},none,{SECRET % 1}\n",
        encoding="utf-8",
    )
    env = {"FLUENZR_SMTP_TIMEOUT": "5", "FLUENZR_PROBE_TIMEOUT": "1"}
    result = cli("accounts", "import", str(path), "--test", "--json", env=env)
    assert result.exit_code == 1, result.stdout  # imported, but the test did not pass
    data = result.json()
    assert isinstance(data, dict)
    assert data["counts"] == {"created": 1} and data["test"]["total"] == 1
    assert data["test"]["rows"][0]["outcome"] == "failed"
    _no_secret(result.stdout)
    # The API and the page start the bulk Probar job for the sending system instead.
    with serve(app_any_db, sending=False) as url:
        caller = admin(app_any_db)
        with httpx.Client(base_url=url, headers=caller.headers, timeout=30) as http:
            rows = [{"from_email": "t2@example.com", "smtp_host": "127.0.0.1",
                     "smtp_port": port, "smtp_security": "none", "smtp_password": "x"}]  # fmt: skip
            job = http.post("/api/v1/accounts/import", json={"rows": rows, "test": True}).json()
            test_job = job["result"]["test_job_id"]
            assert test_job is not None
            assert http.get(f"/api/v1/jobs/{test_job}").json()["kind"] == bulk_probar.KIND
