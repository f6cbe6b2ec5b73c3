"""Issue 10 §1: a stored password only ever reaches the server it was given for.

Every test points an account at a *capture* SMTP server on 127.0.0.1 that records any AUTH it
receives — through the CLI, the REST API, the web form and a raw SQL ``UPDATE`` — then runs the
real worker and Probar. The capture server must receive nothing; the user sees a clear error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from sqlalchemy import text

from fluenzr.core.secret import Secret
from fluenzr.errors import CredentialsEndpointChanged, ValidationError
from fluenzr.sending.worker import WorkerOptions
from fluenzr.services.account_probar import run_probar
from fluenzr.services.accounts import (
    AccountInput,
    create_account,
    get_account,
    list_accounts,
    open_credentials,
    update_account,
)
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.services.runtime import sending_worker
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from tests.e2e.server import admin, csrf_of, serve
from tests.integration.send_support import add_account, enqueue, statuses
from tests.support.certs import pki
from tests.support.cli import Cli
from tests.support.fault_smtp import PASSWORD, USER, FaultSmtpServer, smtp_server


def _account(ctx: AppContext, server: FaultSmtpServer) -> int:
    return add_account(
        ctx,
        email=USER,
        password=PASSWORD,
        port=server.port,
        security="starttls",
        ca_file=pki().ca_file,
    )


def _row(ctx: AppContext, account_id: int) -> tuple[object, ...]:
    with ctx.sessions() as session:
        row = session.get(Account, account_id)
        assert row is not None
        return (
            row.smtp_host,
            row.smtp_port,
            row.smtp_security,
            row.smtp_username,
            row.pin_sha256,
            row.smtp_ca_pem,
            bytes(row.smtp_password_sealed),
        )


async def _send_and_probe(ctx: AppContext, account_id: int) -> None:
    enqueue(ctx, account_id, "bob@example.org")
    await sending_worker(ctx, WorkerOptions(poll=0.05)).run(until_idle=True)


def _assert_refused(ctx: AppContext, account_id: int, capture: FaultSmtpServer) -> None:
    assert capture.auth == [] and capture.received == []
    view = get_account(ctx, workspace_id=default_workspace_id(ctx.sessions), account_id=account_id)
    assert (view.status, view.status_reason) == ("paused", "credentials_endpoint_changed")
    assert statuses(ctx) == {"queued": 1}  # given back untouched, sent nowhere


_SET = "UPDATE accounts SET smtp_port = :port, {} WHERE id = :id"
RETARGETS = {
    "port": text("UPDATE accounts SET smtp_port = :port WHERE id = :id"),
    "host": text(_SET.format("smtp_host = 'localhost'")),
    "pin": text(_SET.format("pin_sha256 = :pin")),
    "security": text(_SET.format("smtp_security = 'ssl'")),
    "username": text(_SET.format("smtp_username = 'someone@else.test'")),
    "ca_pem": text(_SET.format("smtp_ca_pem = :ca")),
}


@pytest.mark.parametrize("change", sorted(RETARGETS))
async def test_raw_sql_retarget_never_authenticates(app_any_db: AppContext, change: str) -> None:
    async with smtp_server() as legit, smtp_server() as capture:
        account_id = _account(app_any_db, legit)
        ok = await run_probar(app_any_db, account_id=account_id, send_test_mail=False)
        assert ok.ok and len(legit.auth) == 1  # the password works where it was given
        with transaction(app_any_db.sessions) as session:
            session.execute(
                RETARGETS[change],
                {
                    "id": account_id,
                    "port": capture.port,
                    "pin": capture.cert.fingerprint,
                    "ca": trustme.CA().cert_pem.bytes().decode(),  # another CA's PEM
                },
            )
        with pytest.raises(CredentialsEndpointChanged) as info:
            await run_probar(app_any_db, account_id=account_id, send_test_mail=False)
        assert info.value.code == "credentials_endpoint_changed"
        assert "contraseña" in info.value.message("es") and info.value.hint("fr")
        assert info.value.to_dict("en")["message"].endswith("enter the password again")
        await _send_and_probe(app_any_db, account_id)
        _assert_refused(app_any_db, account_id, capture)
        assert len(legit.auth) == 1


async def test_raw_sql_imap_host_change_never_reuses_the_smtp_password(app: AppContext) -> None:
    async with smtp_server() as legit:
        account_id = add_account(
            app,
            email=USER,
            password=PASSWORD,
            port=legit.port,
            security="starttls",
            imap_port=993,
            ca_file=pki().ca_file,
        )
        assert open_credentials(app, account_id=account_id).imap is not None
        with transaction(app.sessions) as session:
            session.execute(
                text("UPDATE accounts SET imap_host = 'imap.evil.example' WHERE id = :id"),
                {"id": account_id},
            )
        with pytest.raises(CredentialsEndpointChanged) as info:
            open_credentials(app, account_id=account_id)
        assert info.value.params["field"] == "imap_password"


async def test_service_edit_refuses_a_new_server_without_the_password(
    app_any_db: AppContext,
) -> None:
    ws = default_workspace_id(app_any_db.sessions)
    async with smtp_server() as legit, smtp_server() as capture:
        account_id = _account(app_any_db, legit)
        before = _row(app_any_db, account_id)
        for changes in (
            {"smtp_port": capture.port},
            {"smtp_host": "localhost", "smtp_port": capture.port},
            {"pin_sha256": capture.cert.fingerprint},
            {"username": "someone@else.test"},
        ):
            with pytest.raises(ValidationError) as info:
                update_account(app_any_db, workspace_id=ws, account_id=account_id, changes=changes)
            assert info.value.code == "endpoint_changed_password_required"
            assert info.value.params["field"] == "password"
            assert "again" in info.value.hint("en")
            assert _row(app_any_db, account_id) == before  # nothing written
        # Limits and names are not the endpoint: no password needed.
        update_account(
            app_any_db, workspace_id=ws, account_id=account_id, changes={"daily_limit": 9}
        )
        await _send_and_probe(app_any_db, account_id)
        assert capture.auth == [] and len(legit.received) == 1


@pytest.fixture
def cli(home: Path, db_url: str) -> Cli:
    return Cli(home=home, database_url=db_url)


async def test_cli_edit_refuses_a_new_server_without_the_password(
    app_any_db: AppContext, cli: Cli
) -> None:
    async with smtp_server() as legit, smtp_server() as capture:
        account_id = _account(app_any_db, legit)
        before = _row(app_any_db, account_id)
        result = cli(
            "accounts", "edit", str(account_id), "--smtp-port", str(capture.port), "--json"
        )
        assert result.exit_code == 2
        error = result.json()["error"]
        assert (error["code"], error["field"]) == ("endpoint_changed_password_required", "password")
        assert "Traceback" not in result.stdout + result.stderr
        assert _row(app_any_db, account_id) == before
        await _send_and_probe(app_any_db, account_id)
        assert capture.auth == [] and len(legit.received) == 1


@pytest.fixture
def base_url(app: AppContext) -> Iterator[str]:
    with serve(app, sending=False) as url:
        yield url


async def test_rest_patch_refuses_a_new_server_without_the_password(
    app: AppContext, base_url: str
) -> None:
    caller = admin(app)
    async with smtp_server() as legit, smtp_server() as capture:
        account_id = _account(app, legit)
        before = _row(app, account_id)
        async with httpx.AsyncClient(base_url=base_url, headers=caller.headers) as http:
            for body in (
                {"smtp_port": capture.port},
                {"smtp_host": "localhost", "smtp_port": capture.port, "password": ""},
                {"pin_sha256": capture.cert.fingerprint},
            ):
                patched = await http.patch(f"/api/v1/accounts/{account_id}", json=body)
                assert patched.status_code == 422, patched.text
                problem = patched.json()
                assert problem["field"] == "password", problem
                assert _row(app, account_id) == before
        await _send_and_probe(app, account_id)
        assert capture.auth == [] and len(legit.received) == 1


async def test_web_form_refuses_a_new_server_without_the_password(
    app: AppContext, base_url: str
) -> None:
    async with smtp_server() as legit, smtp_server() as capture:
        async with httpx.AsyncClient(base_url=base_url) as http:
            setup = await http.get("/setup")
            made = await http.post(
                "/setup",
                data={
                    "csrf": csrf_of(setup.text),
                    "email": "admin@fluenzr.test",
                    "name": "Admin",
                    "password": "a long admin password",
                },
            )
            assert made.status_code == 303
            account_id = _account(app, legit)
            before = _row(app, account_id)
            form = await http.get(f"/accounts/{account_id}/edit")
            assert form.status_code == 200, form.text[:300]
            saved = await http.post(
                f"/accounts/{account_id}/edit",
                data={
                    "csrf": csrf_of(form.text),
                    "email": USER,
                    "smtp_host": "127.0.0.1",
                    "smtp_port": str(capture.port),
                    "smtp_security": "starttls",
                    "username": USER,
                    "password": "",
                    "force": "1",
                },
            )
            assert saved.status_code == 422 and 'id="password-error"' in saved.text
            assert _row(app, account_id) == before
        await _send_and_probe(app, account_id)
        assert capture.auth == [] and len(legit.received) == 1


async def test_worker_cache_follows_the_endpoint(app: AppContext) -> None:
    """One worker, credentials cached: a raw change is refused at once, a fix is used at once."""
    ws = default_workspace_id(app.sessions)
    worker = sending_worker(app, WorkerOptions(poll=0.05))
    async with smtp_server() as old, smtp_server() as capture, smtp_server() as new:
        account_id = _account(app, old)
        enqueue(app, account_id, "bob@example.org")
        await worker.run(until_idle=True)
        assert len(old.received) == 1 and len(old.auth) == 1

        with transaction(app.sessions) as session:
            session.execute(
                text("UPDATE accounts SET smtp_port = :port WHERE id = :id"),
                {"port": capture.port, "id": account_id},
            )
        enqueue(app, account_id, "carla@example.org")
        await worker.run(until_idle=True)
        assert capture.auth == [] and capture.connections == 0
        assert get_account(app, workspace_id=ws, account_id=account_id).status == "paused"

        # The user fixes the server and enters the password again: the next send goes there.
        update_account(
            app,
            workspace_id=ws,
            account_id=account_id,
            changes={"smtp_port": new.port, "password": Secret(PASSWORD), "force": True},
        )
        await worker.run(until_idle=True)
        assert len(new.received) == 1 and len(new.auth) == 1
        assert len(old.received) == 1 and capture.auth == []
        assert statuses(app).get("queued", 0) == 0


def _imap_input(**changes: object) -> AccountInput:
    base: dict[str, object] = {
        "email": "ana@example.com",
        "smtp_host": "smtp.example.com",
        "password": Secret("smtp pw"),
    }
    return AccountInput(**{**base, **changes})  # type: ignore[arg-type]


def test_imap_needs_its_own_password_on_another_host(app_any_db: AppContext) -> None:
    ws = default_workspace_id(app_any_db.sessions)
    with pytest.raises(ValidationError) as info:
        create_account(app_any_db, workspace_id=ws, data=_imap_input(imap_host="imap.evil.example"))
    assert (info.value.code, info.value.params["field"]) == (
        "imap_password_required",
        "imap_password",
    )
    assert list_accounts(app_any_db, workspace_id=ws) == []  # nothing written

    same = create_account(
        app_any_db, workspace_id=ws, data=_imap_input(imap_host="smtp.example.com")
    )
    creds = open_credentials(app_any_db, account_id=same.id)
    assert creds.imap is not None and creds.imap.password.reveal() == "smtp pw"
    with pytest.raises(ValidationError) as moved:  # moving IMAP away needs its password
        update_account(
            app_any_db,
            workspace_id=ws,
            account_id=same.id,
            changes={"imap_host": "imap.evil.example"},
        )
    assert moved.value.params["field"] == "imap_password"
    update_account(
        app_any_db,
        workspace_id=ws,
        account_id=same.id,
        changes={"imap_host": "imap.example.com", "imap_password": Secret("imap pw")},
    )
    creds = open_credentials(app_any_db, account_id=same.id)
    assert creds.imap is not None and creds.imap.password.reveal() == "imap pw"
    # IMAP with its own password: its endpoint is bound too.
    with pytest.raises(ValidationError) as again:
        update_account(
            app_any_db,
            workspace_id=ws,
            account_id=same.id,
            changes={"imap_port": 1993, "force": True},
        )
    assert (again.value.code, again.value.params["field"]) == (
        "endpoint_changed_password_required",
        "imap_password",
    )

    preset = create_account(
        app_any_db,
        workspace_id=ws,
        data=AccountInput(email="eva@zoho.eu", preset="zoho-eu", password=Secret("zoho pw")),
    )
    zoho = open_credentials(app_any_db, account_id=preset.id)
    assert zoho.imap is not None and zoho.imap.host == "imap.zoho.eu"
    assert zoho.imap.password.reveal() == "zoho pw"  # the preset's own SMTP/IMAP pair


async def test_web_trust_pins_only_with_the_password(app: AppContext, base_url: str) -> None:
    """Probar's "trust this certificate" changes the TLS trust: it asks for the password."""
    from fluenzr.services import jobs

    async with smtp_server() as legit:
        async with httpx.AsyncClient(base_url=base_url) as http:
            setup = await http.get("/setup")
            token = csrf_of(setup.text)
            made = await http.post(
                "/setup",
                data={
                    "csrf": token,
                    "email": "admin@fluenzr.test",
                    "name": "Admin",
                    "password": "a long admin password",
                },
            )
            assert made.status_code == 303
            account_id = _account(app, legit)
            ws = default_workspace_id(app.sessions)
            job = jobs.enqueue_probar(app, workspace_id=ws, account_id=account_id)
            jobs._finish(
                app, job.id, {"ok": False, "error": {"fingerprint": legit.cert.fingerprint}}
            )
            before = _row(app, account_id)
            page = await http.get(f"/accounts/{account_id}")
            token = csrf_of(page.text)
            blank = await http.post(
                f"/accounts/{account_id}/trust", data={"csrf": token, "job_id": str(job.id)}
            )
            assert blank.status_code == 422 and "contraseña" in blank.text.lower()
            assert _row(app, account_id) == before
            pinned = await http.post(
                f"/accounts/{account_id}/trust",
                data={"csrf": token, "job_id": str(job.id), "password": PASSWORD},
            )
            assert pinned.status_code == 303
        view = get_account(app, workspace_id=ws, account_id=account_id)
        assert view.pin_sha256 == legit.cert.fingerprint
        await _send_and_probe(app, account_id)
        assert len(legit.received) == 1  # pinned and re-sealed: it still sends
