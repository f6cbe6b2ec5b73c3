"""Several detection workers share the IMAP mailboxes on the real Dovecot: exactly one owner and
one IMAP connection per mailbox, rebalancing when a worker joins or leaves, takeover after a
kill -9 with a reply delivered meanwhile detected exactly once. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fluenzr.config import load_settings
from fluenzr.services.context import AppContext, open_app
from fluenzr.storage.models.fleet import MailboxLease, WorkerHeartbeat
from tests.integration.fleet_support import (
    LEASE_TTL,
    fleet,
    imap_sessions,
    in_process_worker,
    owners,
    reply,
    reply_events,
    until,
    watched,
)
from tests.support.mailservers import deliver

pytestmark = [pytest.mark.mailserver, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _test_domains(mailserver: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import email_validator

    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)


@pytest.fixture
def fleet_app(home: Path, db_url: str) -> Iterator[AppContext]:
    ctx = open_app(load_settings(home=home, database_url=db_url, detect_lease_ttl=LEASE_TTL))
    yield ctx
    ctx.close()


@pytest.fixture
def pg_fleet_app(home: Path, _migrated_templates: dict[str, str]) -> Iterator[AppContext]:
    """PostgreSQL only: the multi-process deployment (SQLite runs one worker process)."""
    from tests.support.services import fresh_pg_database

    with fresh_pg_database(template=_migrated_templates.get("postgres")) as url:
        ctx = open_app(load_settings(home=home, database_url=url, detect_lease_ttl=LEASE_TTL))
        yield ctx
        ctx.close()


def _shares(app: AppContext) -> list[int]:
    return sorted(Counter(owners(app).values()).values())


@pytest.mark.timeout(90)
async def test_workers_share_mailboxes_one_owner_one_connection(fleet_app: AppContext) -> None:
    app = fleet_app
    accounts = fleet(app, "fleet-share", 7)
    users = [user for user, _ in accounts.values()]
    async with in_process_worker(app, "test:1:a"):
        await until(lambda: len(owners(app)) == 7 and watched(app, accounts) == set(accounts))
        async with in_process_worker(app, "test:2:b"), in_process_worker(app, "test:3:c"):
            # Joining workers: the first gives back what is over its share, they pick it up.
            await until(lambda: _shares(app) == [2, 2, 3])
            await until(lambda: imap_sessions(users) == Counter({u.email: 1 for u in users}))
            # A reply lands exactly once, whichever worker watches that mailbox.
            user, ref = next(iter(accounts.values()))
            await deliver(user.email, reply(user, ref), sender="prospect@example.com")
            await until(lambda: sum(reply_events(app).values()) == 1)
        # b and c stopped cleanly: their leases were released, a takes all back, no takeover.
        await until(lambda: _shares(app) == [7])
        await until(lambda: imap_sessions(users) == Counter({u.email: 1 for u in users}))
    with app.sessions() as session:
        assert session.scalar(select(func.sum(MailboxLease.takeovers))) == 0
        assert session.scalar(select(func.count()).where(MailboxLease.owner.is_not(None))) == 0
        stopped = session.scalars(select(WorkerHeartbeat.stopped_at))
        assert all(when is not None for when in stopped)
    assert sum(reply_events(app).values()) == 1


WORKER = """
import asyncio, email_validator
email_validator.TEST_ENVIRONMENT = True
from fluenzr.config import load_settings
from fluenzr.services.context import open_app
from fluenzr.services.runtime import run_worker
asyncio.run(run_worker(open_app(load_settings()), only="detect"))
"""


@pytest.mark.timeout(120)
async def test_kill_9_takeover_detects_reply_exactly_once(
    pg_fleet_app: AppContext, home: Path
) -> None:
    app = pg_fleet_app
    accounts = fleet(app, "fleet-kill", 4)
    env = {
        **os.environ,
        "FLUENZR_HOME": str(home),
        "FLUENZR_DATABASE_URL": app.settings.effective_database_url,
        "FLUENZR_DETECT_LEASE_TTL": str(LEASE_TTL),
        "FLUENZR_LOG_LEVEL": "WARNING",
    }
    victim = subprocess.Popen([sys.executable, "-c", WORKER], env=env)  # noqa: ASYNC220
    try:
        await until(lambda: len(owners(app)) == 4, seconds=30)
        async with in_process_worker(app, "test:9:survivor"):
            await until(lambda: _shares(app) == [2, 2])
            await until(lambda: watched(app, accounts) == set(accounts))
            held = {a for a, owner in owners(app).items() if owner != "test:9:survivor"}
            before = _takeovers(app)
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            # During the takeover: a reply to a mailbox the dead worker was watching.
            target = sorted(held)[0]
            user, ref = accounts[target]
            await deliver(user.email, reply(user, ref), sender="prospect@example.com")
            await until(lambda: owners(app) == dict.fromkeys(accounts, "test:9:survivor"))
            await until(lambda: reply_events(app).get(target) == 1)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait(10)
    # At least the dead worker's mailboxes were taken over (a 1 s lease on a loaded machine may
    # also change hands on a stalled renewal: that is what the fence is for).
    assert _takeovers(app) - before >= len(held) == 2
    assert reply_events(app) == Counter({target: 1})


def _takeovers(app: AppContext) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.sum(MailboxLease.takeovers))) or 0)
