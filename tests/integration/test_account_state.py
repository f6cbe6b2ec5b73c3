"""Issue 16's service rules: an edit clears the last Probar result and a pin left behind by a
host change; Probar before saving runs on the sending system in a split deployment and keeps
only the result; removing an account with history needs its address."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from fluenzr.config import load_settings
from fluenzr.core.secret import Secret
from fluenzr.errors import ValidationError
from fluenzr.services import account_removal, accounts, draft_probar, jobs
from fluenzr.services.account_config import AccountInput
from fluenzr.services.context import AppContext, open_app
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account
from fluenzr.storage.models.users import Job
from tests.e2e.server import admin
from tests.support.mailservers import SUBMISSION_PORT, ca_pem, create_user


def _create(app: AppContext, workspace: int, **more: object) -> accounts.AccountView:
    data: dict[str, object] = {
        "email": "estado@example.com",
        "smtp_host": "smtp.example.com",
        "password": Secret("first-password"),
        **more,
    }
    return accounts.create_account(app, workspace_id=workspace, data=AccountInput(**data))  # type: ignore[arg-type]


def _tested(app: AppContext, account_id: int) -> None:
    with transaction(app.sessions) as session:
        row = session.get(Account, account_id)
        assert row is not None
        row.last_test_ok, row.last_test_at, row.last_test_result = True, datetime.now(UTC), "{}"
        row.status, row.status_reason = "error", "auth_failed"


def test_connection_change_forgets_the_last_test(app: AppContext) -> None:
    workspace = admin(app).workspace_id
    view = _create(app, workspace)
    _tested(app, view.id)
    limits = accounts.update_account(
        app, workspace_id=workspace, account_id=view.id, changes={"daily_limit": 20}
    )
    assert limits.last_test_ok is True  # limits are not the connection
    edited = accounts.update_account(
        app,
        workspace_id=workspace,
        account_id=view.id,
        changes={"password": Secret("second-password")},
    )
    assert edited.last_test_ok is None and edited.last_test_at is None
    assert edited.status == "active" and edited.status_reason is None


def test_host_change_clears_a_pin_kept_from_the_old_host(app: AppContext) -> None:
    workspace = admin(app).workspace_id
    view = _create(app, workspace, pin_sha256="ab" * 32)
    moved = accounts.update_account(
        app,
        workspace_id=workspace,
        account_id=view.id,
        changes={
            "smtp_host": "smtp2.example.com",
            "pin_sha256": "ab" * 32,
            "password": Secret("p-password"),
        },
    )
    assert moved.pin_sha256 is None
    repinned = accounts.update_account(
        app,
        workspace_id=workspace,
        account_id=view.id,
        changes={
            "smtp_host": "smtp3.example.com",
            "pin_sha256": "cd" * 32,
            "password": Secret("p-password"),
        },
    )
    assert repinned.pin_sha256 == "cd" * 32  # a new pin given with the move is kept


def test_removal_with_history_needs_the_address(app: AppContext) -> None:
    workspace = admin(app).workspace_id
    view = _create(app, workspace)
    with transaction(app.sessions) as session:
        record_event(session, workspace_id=workspace, type="sent", account_id=view.id)
    past = account_removal.history(app, workspace_id=workspace, account_id=view.id)
    assert past.any and past.events == 1 and past.queued == 0
    with pytest.raises(ValidationError) as refused:
        account_removal.remove(app, workspace_id=workspace, account_id=view.id, typed_email="x")
    assert refused.value.code == "delete_confirmation_mismatch"
    done = account_removal.remove(
        app, workspace_id=workspace, account_id=view.id, typed_email=" Estado@Example.com "
    )
    assert done.email == "estado@example.com"


@pytest.mark.mailserver
def test_draft_probar_split_roles_keeps_only_the_result(
    home: Path, db_url: str, mailserver: None
) -> None:
    worker_ctx = open_app(load_settings(home=home, database_url=db_url))
    web_ctx = open_app(load_settings(home=home, database_url=db_url, vault_read_only=True))
    try:
        caller = admin(web_ctx)
        mailbox = create_user("draftsplit")
        data = AccountInput(
            email=mailbox.email,
            smtp_host="127.0.0.1",
            smtp_port=SUBMISSION_PORT,
            smtp_security="starttls",
            password=Secret(mailbox.password),
            smtp_ca_pem=ca_pem(),
        )
        job_id = draft_probar.enqueue_draft(
            web_ctx, workspace_id=caller.workspace_id, data=data, nonce="n1"
        )
        again = draft_probar.pending_with_nonce(
            web_ctx, workspace_id=caller.workspace_id, nonce="n1"
        )
        assert again == job_id  # a double submit joins the pending test
        with web_ctx.sessions() as session:
            stored = session.get(Job, job_id)
            assert stored is not None and mailbox.password not in stored.options
            assert json.loads(stored.options)["sealed"]["smtp"]  # sealed with the public key
        asyncio.run(jobs.run_jobs(worker_ctx, until_idle=True))
        done = jobs.get_job(web_ctx, workspace_id=caller.workspace_id, job_id=job_id)
        assert done.status == "done" and done.ok, done.result
        with web_ctx.sessions() as session:
            row = session.get(Job, job_id)
            assert row is not None and row.options == "{}"
            assert session.scalars(select(Account)).all() == []
    finally:
        web_ctx.close()
        worker_ctx.close()


def test_removal_confirmation_link_is_signed() -> None:
    removed = account_removal.Removed(email="ana@example.com", queued=2)
    query = removed.query("session-token")
    sig = query.rsplit("sig=", 1)[1]
    assert account_removal.verified("session-token", "ana@example.com", "2", sig)
    assert not account_removal.verified("session-token", "eve@example.com", "2", sig)
    assert not account_removal.verified("other-session", "ana@example.com", "2", sig)
    assert not account_removal.verified("session-token", "ana@example.com", "3", sig)
