"""Mailbox ownership leases on SQLite and PostgreSQL: one owner at a time, takeover after the
timeout (counted), release, renewal, fencing (a stale holder commits nothing), heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from fluenzr.detection import ownership
from fluenzr.detection.ownership import LeaseLost
from fluenzr.services.context import AppContext
from fluenzr.storage import heartbeats
from fluenzr.storage.engine import transaction
from fluenzr.storage.models.detection import ImapSyncState
from fluenzr.storage.models.fleet import MailboxLease
from tests.integration.send_support import add_account

pytestmark = pytest.mark.postgres
TTL = timedelta(seconds=30)
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _account(app: AppContext) -> int:
    return add_account(
        app, email="lease@example.com", password="pw", port=587, security="starttls", imap_port=993
    )


def _acquire(app: AppContext, account_id: int, owner: str, now: datetime) -> bool:
    with transaction(app.sessions) as session:
        return ownership.acquire(session, account_id=account_id, owner=owner, now=now, ttl=TTL)


def _lease(app: AppContext, account_id: int) -> MailboxLease:
    with app.sessions() as session:
        lease = session.get(MailboxLease, account_id)
        assert lease is not None
        return lease


def test_one_owner_then_takeover_after_timeout(app_any_db: AppContext) -> None:
    app = app_any_db
    account_id = _account(app)
    assert _acquire(app, account_id, "a", T0)
    assert not _acquire(app, account_id, "b", T0 + TTL / 2)  # held: refused
    assert _acquire(app, account_id, "a", T0 + TTL / 2)  # ours: kept, not a takeover
    assert _lease(app, account_id).takeovers == 0
    assert _acquire(app, account_id, "b", T0 + TTL * 2)  # expired: taken over
    lease = _lease(app, account_id)
    assert (lease.owner, lease.takeovers) == ("b", 1)
    with transaction(app.sessions) as session:  # the old owner learns it on renewal
        assert (
            ownership.renew(session, owner="a", account_ids=[account_id], now=T0, ttl=TTL) == set()
        )
        still = ownership.renew(
            session, owner="b", account_ids=[account_id], now=T0 + TTL * 2, ttl=TTL
        )
    assert still == {account_id}


def test_release_frees_at_once_without_a_takeover(app_any_db: AppContext) -> None:
    app = app_any_db
    account_id = _account(app)
    assert _acquire(app, account_id, "a", T0)
    with transaction(app.sessions) as session:
        ownership.release(session, owner="b", account_ids=[account_id], now=T0)  # not b's
    assert not _acquire(app, account_id, "b", T0)
    with transaction(app.sessions) as session:
        ownership.release(session, owner="a", account_ids=[account_id], now=T0)
        assert ownership.free(session, candidates=[account_id], now=T0) == [account_id]
    assert _acquire(app, account_id, "b", T0)
    assert _lease(app, account_id).takeovers == 0


def _commit_progress(app: AppContext, account_id: int, *, owner: str, now: datetime) -> None:
    """What the watcher does: move the position, fence, commit — all in one transaction."""
    with transaction(app.sessions) as session:
        state = session.get(ImapSyncState, (account_id, "INBOX"))
        assert state is not None
        state.last_uid = 99
        session.flush()
        ownership.fence(session, account_id=account_id, owner=owner, now=now)


def test_stale_holder_cannot_commit_progress(app_any_db: AppContext) -> None:
    app = app_any_db
    account_id = _account(app)
    with transaction(app.sessions) as session:
        session.add(ImapSyncState(account_id=account_id, mailbox="INBOX", last_uid=5, resyncs=0))
    assert _acquire(app, account_id, "a", T0)
    assert _acquire(app, account_id, "b", T0 + TTL * 2)
    with pytest.raises(LeaseLost):
        _commit_progress(app, account_id, owner="a", now=T0 + TTL * 2)
    with app.sessions() as session:  # ...was rolled back
        assert session.scalar(select(ImapSyncState.last_uid)) == 5
    with transaction(app.sessions) as session:  # the new owner's commits pass
        ownership.fence(session, account_id=account_id, owner="b", now=T0 + TTL * 2)
    with pytest.raises(LeaseLost), transaction(app.sessions) as session:  # even its own, late
        ownership.fence(session, account_id=account_id, owner="b", now=T0 + TTL * 4)


def test_fair_share_counts_live_detection_workers(app_any_db: AppContext) -> None:
    app = app_any_db
    with transaction(app.sessions) as session:
        heartbeats.beat(session, worker_id="h:1:a", roles=["detect", "send"], now=T0)
        heartbeats.beat(session, worker_id="h:2:b", roles=["detect"], now=T0 - TTL * 2)  # stale
        heartbeats.beat(session, worker_id="h:3:c", roles=["send"], now=T0)  # no detection
        heartbeats.beat(session, worker_id="h:4:d", roles=["detect"], now=T0)
        heartbeats.stopped(session, worker_id="h:4:d", now=T0)  # clean exit
        heartbeats.beat(session, worker_id="h:5:e", roles=["detect"], now=T0)
    with app.sessions() as session:
        live = heartbeats.live_count(session, now=T0, stale_after=TTL, role="detect")
    assert live == 2
    assert ownership.fair_share(1000, live) == 500
    assert ownership.fair_share(7, 3) == 3
    assert ownership.fair_share(5, 0) == 5


def test_shares_add_up_to_every_mailbox() -> None:
    live = ["w3", "w1", "w2"]
    shares = [ownership.share_of(w, mailboxes=7, live=live) for w in sorted(live)]
    assert shares == [3, 2, 2]
    assert ownership.share_of("w4", mailboxes=7, live=live) == 1  # counts itself in: 4 workers
    assert ownership.share_of("solo", mailboxes=5, live=[]) == 5


def test_acquire_many_one_owner_each_and_takeovers(app_any_db: AppContext) -> None:
    app = app_any_db
    ids = [
        add_account(
            app,
            email=f"many{n}@example.com",
            password="pw",
            port=587,
            security="starttls",
            imap_port=993,
        )
        for n in range(4)
    ]
    with transaction(app.sessions) as session:
        first = ownership.acquire_many(session, account_ids=ids[:3], owner="a", now=T0, ttl=TTL)
    with transaction(app.sessions) as session:
        second = ownership.acquire_many(session, account_ids=ids, owner="b", now=T0, ttl=TTL)
    assert (first, second) == (set(ids[:3]), {ids[3]})
    with transaction(app.sessions) as session:
        ownership.release(session, owner="a", account_ids=[ids[0]], now=T0)
        late = T0 + TTL * 2  # a's other two leases expired: taken over; the released one is free
        third = ownership.acquire_many(session, account_ids=ids[:3], owner="b", now=late, ttl=TTL)
    assert third == set(ids[:3])
    with app.sessions() as session:
        rows = session.execute(select(MailboxLease.account_id, MailboxLease.takeovers))
        takeovers = {account_id: count for account_id, count in rows}
    assert takeovers == {ids[0]: 0, ids[1]: 1, ids[2]: 1, ids[3]: 0}
