"""Bulk Probar (issue 13 §2): many accounts, one job, bounded per server host.

The servers are real aiosmtpd servers on 127.0.0.1 and 127.0.0.2 that count their concurrent
sessions themselves (tests/support/counting_smtp.py): what a provider would see.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from fluenzr.config import Settings, load_settings
from fluenzr.core.secret import Secret
from fluenzr.diagnose.probar import default_seams
from fluenzr.errors import ConflictError, NotFoundError, RateLimitedError, ValidationError
from fluenzr.services import bulk_probar, jobs, notifications
from fluenzr.services.account_config import AccountInput
from fluenzr.services.accounts import create_account
from fluenzr.services.bulk_probar_run import HostLimiter, probe_all, targets
from fluenzr.services.context import AppContext, default_workspace_id, open_app
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account, Event, Workspace
from fluenzr.storage.models.fleet import AccountTag
from fluenzr.storage.models.users import Job
from tests.support.counting_smtp import CountingSmtpServer, Tally, counting_server
from tests.support.fault_smtp import PASSWORD, USER, closed_port


def _add(
    ctx: AppContext,
    server: CountingSmtpServer | None,
    *,
    password: str = PASSWORD,
    port: int | None = None,
    workspace_id: int | None = None,
) -> int:
    workspace = workspace_id or default_workspace_id(ctx.sessions)
    data = AccountInput(
        email=f"bulk-{uuid.uuid4().hex[:8]}@example.com",
        smtp_host=server.host if server else "127.0.0.1",
        smtp_port=port or (server.port if server else 1),
        smtp_security="starttls",
        username=USER,
        password=Secret(password),
        smtp_ca_pem=server.ca_pem if server else None,
        force=True,
    )
    return create_account(ctx, workspace_id=workspace, data=data).id


LIMITS = {"probar_per_host_concurrency": 3, "bulk_probar_concurrency": 10, "probar_rate_limit": 2}


@pytest.fixture
def settings(home: Path) -> Settings:
    """The ``app`` fixture's settings (SQLite): three tests at once per host."""
    return load_settings(home=home, **LIMITS)


@pytest.fixture
def both_dbs(home: Path, db_url: str) -> Iterator[AppContext]:
    """The same limits on SQLite and on PostgreSQL (job claims and writes are state)."""
    ctx = open_app(load_settings(home=home, database_url=db_url, **LIMITS))
    yield ctx
    ctx.close()


async def test_one_host_sees_at_most_the_limit_while_two_hosts_run_together(
    app: AppContext,
) -> None:
    ctx = app
    tally = Tally(release_at=4)  # EHLO is held until 4 sessions are open at once: two hosts
    async with (
        counting_server("127.0.0.1", tally) as one,
        counting_server("127.0.0.2", tally) as two,
    ):
        ids = [_add(ctx, one) for _ in range(20)] + [_add(ctx, two) for _ in range(4)]
        workspace = default_workspace_id(ctx.sessions)
        chosen = targets(ctx, workspace_id=workspace, account_ids=ids)
        limiter = HostLimiter(per_host=3, overall=10)
        # The connection steps only: this test is about connections, not DNS.
        seams = replace(default_seams(ctx.settings), deliverability=False)
        rows = await probe_all(
            ctx, chosen, workspace_id=workspace, send_test_mail=False, limiter=limiter, seams=seams
        )
    assert [r.outcome for r in rows] == ["ok"] * 24, [r.code for r in rows]
    assert one.sessions >= 20 and two.sessions >= 4
    assert one.max_open <= 3 and two.max_open <= 3  # measured by the servers themselves
    assert tally.max_open >= 4  # both hosts at once: never serialised behind each other
    assert limiter.max_seen == {"127.0.0.1": 3, "127.0.0.2": 3}


async def test_the_job_runs_every_account_and_one_bad_one_stops_nothing(
    both_dbs: AppContext,
) -> None:
    ctx = both_dbs
    workspace = default_workspace_id(ctx.sessions)
    async with counting_server("127.0.0.1", Tally()) as server:
        good = [_add(ctx, server) for _ in range(5)]
        wrong_password = _add(ctx, server, password="not the password")
        nobody_listens = _add(ctx, None, port=await closed_port())
        ids = [good[0], wrong_password, *good[1:3], nobody_listens, *good[3:]]
        job = bulk_probar.start_bulk_probar(
            ctx, workspace_id=workspace, account_ids=ids, send_test_mail=False, requested_by=None
        )
        assert (job.kind, job.status, job.account_id) == ("bulk_probar", "pending", None)
        before = bulk_probar.get_bulk_probar(ctx, workspace, job.id)
        assert before.summary["pending"] == 7 and before.done == 0
        await jobs.run_jobs(ctx, until_idle=True)
    view = bulk_probar.get_bulk_probar(ctx, workspace, job.id)
    assert view.status == "done" and view.done == view.total == 7
    assert [row.account_id for row in view.rows] == ids  # the order asked for
    outcomes = {row.account_id: (row.outcome, row.code) for row in view.rows}
    assert outcomes[wrong_password][0] == "failed" and outcomes[wrong_password][1]
    assert outcomes[nobody_listens] == ("failed", "connection_refused")
    assert all(outcomes[i] == ("ok", None) for i in good)
    assert view.summary == {"ok": 5, "throttled": 0, "failed": 2, "pending": 0}
    # Stored per account as a single Probar stores it.
    with ctx.sessions() as session:
        stored = {a.id: a for a in session.query(Account).filter(Account.id.in_(ids))}
        assert all(stored[i].last_test_ok for i in good)
        assert stored[wrong_password].last_test_ok is False
        raw = session.get(Job, job.id)
        assert raw is not None
        written = " ".join([raw.steps, raw.result or "", raw.options])
    # No secret in the job's rows, result or options.
    assert PASSWORD not in written and "not the password" not in written
    assert json.loads(raw.result or "{}")["summary"]["failed"] == 2
    api_view = jobs.get_job(ctx, workspace_id=workspace, job_id=job.id)
    assert api_view.ok is False and len(api_view.steps) == 7


async def test_a_finished_bulk_job_is_a_notification(app: AppContext) -> None:
    ctx = app
    workspace = default_workspace_id(ctx.sessions)
    async with counting_server("127.0.0.1", Tally()) as server:
        ids = [_add(ctx, server) for _ in range(2)] + [_add(ctx, server, password="nope")]
        job = bulk_probar.start_bulk_probar(
            ctx, workspace_id=workspace, account_ids=ids, send_test_mail=False
        )
        await jobs.run_jobs(ctx, until_idle=True)
    found = notifications.list_notifications(ctx, workspace_id=workspace, user_id=1)
    done = [n for n in found.items if n.kind == "bulk_done"]
    # One notification for the run, not one per failing account (nor 300 emails).
    assert [n.kind for n in found.items] == ["bulk_done"]
    note = done[0]
    assert (note.job_id, note.job_kind, note.succeeded, note.failed, note.total) == (
        job.id,
        "bulk_probar",
        2,
        1,
        3,
    )
    title = notifications.bulk_title(note, "es")
    assert title == "Prueba masiva terminada: 2 correctas, 1 con errores"
    assert "1" in notifications.bulk_title(note, "fr") and "2" in notifications.bulk_title(note)
    # A generic kind (a CSV import from another area) gets the generic title.
    generic = note.model_copy(update={"job_kind": "something_new"})
    assert "2" in notifications.bulk_title(generic, "en")
    assert notifications.unread_count(ctx, workspace_id=workspace, user_id=1) >= 1


def test_limits_of_a_bulk_run(both_dbs: AppContext) -> None:
    ctx = both_dbs
    workspace = default_workspace_id(ctx.sessions)
    ids = [_add(ctx, None) for _ in range(4)]
    with pytest.raises(ValidationError) as empty:
        bulk_probar.start_bulk_probar(ctx, workspace_id=workspace, account_ids=[])
    assert empty.value.code == "bulk_probar_empty"
    with transaction(ctx.sessions) as session:
        other = Workspace(name="Other")
        session.add(other)
        session.flush()
        other_id = other.id
    foreign = _add(ctx, None, workspace_id=other_id)
    with pytest.raises(NotFoundError):
        bulk_probar.start_bulk_probar(ctx, workspace_id=workspace, account_ids=[ids[0], foreign])
    # 300 accounts in one run pass a per-minute limit of 2: a bulk run is one request.
    many = ids * 75
    job = bulk_probar.start_bulk_probar(ctx, workspace_id=workspace, account_ids=many)
    assert len(json.loads(_options(ctx, job.id))["account_ids"]) == 4  # duplicates dropped
    with pytest.raises(ConflictError) as running:  # one bulk run per workspace at a time
        bulk_probar.start_bulk_probar(ctx, workspace_id=workspace, account_ids=ids[:1])
    assert running.value.code == "bulk_probar_running" and running.value.params["id"] == job.id
    assert bulk_probar.running_bulk_probar(ctx, workspace_id=workspace) == job.id
    # ...and it counts against the per-minute limit with single runs.
    jobs.enqueue_probar(ctx, workspace_id=workspace, account_id=ids[0])
    with pytest.raises(RateLimitedError):
        jobs.enqueue_probar(ctx, workspace_id=workspace, account_id=ids[1])
    ctx.settings = ctx.settings.model_copy(update={"bulk_probar_max_accounts": 3})
    with pytest.raises(ValidationError) as too_many:
        bulk_probar.start_bulk_probar(ctx, workspace_id=workspace, account_ids=ids)
    assert too_many.value.code == "bulk_probar_too_many"
    assert too_many.value.params == {"field": "account_ids", "limit": 3, "count": 4}


def _options(ctx: AppContext, job_id: int) -> str:
    with ctx.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job.options


def test_selection_by_all_by_tag_and_by_ids(app: AppContext) -> None:
    ctx = app
    workspace = default_workspace_id(ctx.sessions)
    ids = [_add(ctx, None) for _ in range(3)]
    with transaction(ctx.sessions) as session:
        session.add(AccountTag(account_id=ids[1], tag="ovh"))
        session.add(AccountTag(account_id=ids[2], tag="ovh"))
    pick = bulk_probar.select_accounts
    assert pick(ctx, workspace_id=workspace, all_accounts=True) == ids
    assert pick(ctx, workspace_id=workspace, tag=" OVH ") == ids[1:]
    assert pick(ctx, workspace_id=workspace, tag="none") == []
    assert pick(ctx, workspace_id=workspace, account_ids=[ids[2], ids[0], ids[2]]) == [
        ids[2],
        ids[0],
    ]


def test_a_missing_job_or_another_kind_is_not_found(app: AppContext) -> None:
    ctx = app
    workspace = default_workspace_id(ctx.sessions)
    single = jobs.enqueue_probar(ctx, workspace_id=workspace, account_id=_add(ctx, None))
    for job_id in (single.id, 999_999):
        with pytest.raises(NotFoundError):
            bulk_probar.get_bulk_probar(ctx, workspace, job_id)


async def test_a_stopped_worker_leaves_the_job_to_its_lease(app: AppContext) -> None:
    ctx = app
    workspace = default_workspace_id(ctx.sessions)
    tally = Tally(release_at=10_000)  # never opens: the sessions hang at EHLO
    async with counting_server("127.0.0.1", tally) as server:
        ids = [_add(ctx, server) for _ in range(2)]
        job = bulk_probar.start_bulk_probar(
            ctx, workspace_id=workspace, account_ids=ids, send_test_mail=False
        )
        stop = asyncio.Event()
        runner = asyncio.create_task(jobs.run_jobs(ctx, stop=stop))
        await asyncio.wait_for(tally.until_open(2), 10)  # both tests are under way
        stop.set()
        await asyncio.wait_for(runner, 5)
        tally.gate.set()
    with ctx.sessions() as session:
        row = session.get(Job, job.id)
        assert row is not None and row.status == "running" and row.locked_until is not None
        events = session.query(Event).filter(Event.type == "bulk_job_finished").count()
    assert events == 0  # nothing announced for a run that did not end
    assert timedelta(0) < jobs.LEASE


def test_a_finished_bulk_job_is_mailed_to_owners_who_asked(app: AppContext) -> None:
    from fluenzr.services import bulk_jobs, outbox
    from tests.e2e.server import admin

    caller = admin(app)
    workspace = caller.workspace_id
    sender = _add(app, None, workspace_id=workspace)
    notifications.set_email_account(
        app, workspace_id=workspace, user_id=caller.user_id, account_id=sender
    )
    with transaction(app.sessions) as session:  # e.g. the CSV import of another area
        bulk_jobs.record_finished(
            session,
            workspace_id=workspace,
            job_id=7,
            kind="import",
            succeeded=287,
            failed=13,
            total=300,
        )
    assert notifications.deliver_emails(app) == 1
    queued = outbox.list_outbox(app, workspace_id=workspace)
    assert [q.subject for q in queued] == [
        "[FluenzR] Importación terminada: 287 correctas, 13 con errores"
    ]
    assert queued[0].recipients[0].email == caller.email
