"""The pick gives its places to accounts that may send now (both databases, injected clock).

Before, ``leases.due_accounts`` took the first N accounts with a due message whatever their
pacing: accounts waiting for their spacing, a cap or their window filled every place, each
claim was refused, and the rest of the fleet never got a turn (found by
``benchmarks/fleet_scheduler``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update

from fluenzr.sending import leases
from fluenzr.services import account_status
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.outbox import OutboxMessage, SendingState
from tests.integration.send_support import FakeClock

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LEASE = timedelta(hours=1)
PACED = {"daily_limit": 10, "hourly_limit": 10, "min_interval": 60, "max_interval": 120}


def _fleet(ctx: AppContext, count: int, **pacing: object) -> list[int]:
    """``count`` accounts (rows written directly: nothing connects), one queued message each."""
    workspace = default_workspace_id(ctx.sessions)
    past = MONDAY_10 - timedelta(days=1)
    accounts = [
        {
            "workspace_id": workspace,
            "email": f"sender{n}@example.com",
            "display_name": f"Sender {n}",
            "smtp_host": "127.0.0.1",
            "smtp_port": 2525,
            "smtp_security": "none",
            "smtp_username": f"sender{n}@example.com",
            "smtp_password_sealed": b"unused",
            "smtp_auth": False,
            "created_at": past,
            "updated_at": past,
            **{**PACED, **pacing},
        }
        for n in range(count)
    ]
    with transaction(ctx.sessions) as session:
        session.execute(insert(Account), accounts)
        ids = list(session.scalars(select(Account.id).order_by(Account.id)))
        messages = [
            {
                "workspace_id": workspace,
                "account_id": account_id,
                "message_id": f"m{account_id}@example.com",
                "envelope_from": f"sender{account_id}@example.com",
                "mime": b"Subject: hola\r\n\r\nhola\r\n",
                "status": "queued",
            }
            for account_id in ids
        ]
        session.execute(insert(OutboxMessage), messages)
    return ids


def _claim(ctx: AppContext, *, max_accounts: int = 100) -> leases.ClaimRound:
    with transaction(ctx.sessions) as session:
        return leases.claim(
            session, worker_id="w", now=ctx.clock.now(), lease=LEASE, max_accounts=max_accounts
        )


def _claimed(round_: leases.ClaimRound) -> set[int]:
    return {claim.account_id for claim in round_.claims}


def test_waiting_accounts_do_not_take_the_places(app_any_db: AppContext) -> None:
    ctx = app_any_db
    ctx.clock = FakeClock(MONDAY_10)
    ids = _fleet(ctx, 150)
    waiting, ready = ids[:100], ids[100:]
    in_gap = MONDAY_10 + timedelta(minutes=5)
    with transaction(ctx.sessions) as session:  # the first 100 sent a moment ago: in their gap
        for account_id in waiting:
            leases.ensure_state(session, account_id)
        session.execute(
            update(SendingState)
            .where(SendingState.account_id.in_(waiting))
            .values(next_send_at=in_gap)
        )
    round_ = _claim(ctx)
    assert _claimed(round_) == set(ready)
    # Nobody left may send: the round says when the first gap ends, and then they go.
    idle = _claim(ctx)
    assert idle.claims == []
    assert idle.next_due == in_gap
    ctx.clock = FakeClock(in_gap)
    assert _claimed(_claim(ctx)) == set(waiting)


def test_a_refused_wait_is_kept_until_the_account_changes(app_any_db: AppContext) -> None:
    ctx = app_any_db
    ctx.clock = FakeClock(MONDAY_10)  # 10:00 UTC: outside a 18:00–20:00 window
    closed = json.dumps({"days": list(range(7)), "start": "18:00", "end": "20:00"})
    [shut] = _fleet(ctx, 1, send_window=closed)
    assert _claim(ctx).claims == []  # refused once: the wait is noted on its state row
    with ctx.sessions() as session:
        assert leases.due_accounts(session, now=MONDAY_10, busy=(), limit=100) == []
        state = session.get(SendingState, shut)
        assert state is not None and state.wait_until is not None
    assert _claim(ctx).next_due == MONDAY_10.replace(hour=18)
    # Opening the window (any edit of the account) voids the wait at once.
    workspace = default_workspace_id(ctx.sessions)
    account_status.set_pacing(ctx, workspace_id=workspace, account_id=shut, clear_window=True)
    assert _claimed(_claim(ctx)) == {shut}


def test_places_go_round_robin(app_any_db: AppContext) -> None:
    """More accounts may send than there are places: those waiting longest go first."""
    ctx = app_any_db
    ctx.clock = FakeClock(MONDAY_10)
    ids = _fleet(ctx, 6, min_interval=0, max_interval=0)
    with transaction(ctx.sessions) as session:  # a second message each
        rows = session.execute(select(OutboxMessage.workspace_id, OutboxMessage.account_id)).all()
        session.execute(
            insert(OutboxMessage),
            [
                {
                    "workspace_id": workspace,
                    "account_id": account_id,
                    "message_id": f"second{account_id}@example.com",
                    "envelope_from": "s@example.com",
                    "mime": b"x",
                    "status": "queued",
                    "next_attempt_at": MONDAY_10 + timedelta(seconds=1),
                }
                for workspace, account_id in rows
            ],
        )
    first = _claimed(_claim(ctx, max_accounts=3))
    assert first == set(ids[:3])
    ctx.clock = FakeClock(MONDAY_10 + timedelta(seconds=2))
    assert _claimed(_claim(ctx, max_accounts=3)) == set(ids[3:])  # never tried: first


def test_paused_accounts_are_skipped_until_their_pause_ends(app_any_db: AppContext) -> None:
    ctx = app_any_db
    ctx.clock = FakeClock(MONDAY_10)
    until = MONDAY_10 + timedelta(minutes=30)
    paused, active = _fleet(ctx, 2)
    with transaction(ctx.sessions) as session:
        session.execute(
            update(Account)
            .where(Account.id == paused)
            .values(status="paused", status_reason="rate_limited", paused_until=until)
        )
    assert _claimed(_claim(ctx, max_accounts=1)) == {active}
    assert _claim(ctx).next_due == until
    ctx.clock = FakeClock(until)
    assert _claimed(_claim(ctx, max_accounts=1)) == {paused}
