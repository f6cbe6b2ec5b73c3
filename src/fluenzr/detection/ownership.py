"""Ownership leases on IMAP mailboxes: each mailbox is watched by exactly one worker at a time.

One ``mailbox_leases`` row per account, no coordinator. Every statement here is a single
conditional INSERT or UPDATE, atomic on SQLite (one writer at a time) and on PostgreSQL (an
UPDATE re-checks its WHERE clause against a row another transaction just changed):

- **acquire**: insert the row if there is none; otherwise take it when it is released
  (``owner`` NULL), expired (``expires_at`` passed: a *takeover*, counted in ``takeovers``) or
  already ours. Two workers racing for one mailbox: exactly one UPDATE matches.
- **renew**: push ``expires_at`` forward on every lease still ours; what comes back is what we
  still own — a mailbox missing from it was taken over, its watcher stops.
- **release**: ``owner`` NULL (clean shutdown, rebalancing) — free to take at once.
- **fence**: inside the transaction that commits a watcher's progress, a no-op UPDATE on our
  own, unexpired lease. Zero rows: the lease was lost, the transaction rolls back and the
  watcher stops (:class:`LeaseLost`). The UPDATE also locks the lease row until commit, so a
  takeover waits for the progress to be committed and then reads it: no reply is lost or
  recorded twice across a takeover.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fluenzr.storage.models.fleet import MailboxLease

Fence = Callable[[Session], None]


class LeaseLost(Exception):
    """This worker no longer owns the mailbox: stop watching it, commit nothing.

    Internal control flow between the lease fence and the watcher, never shown to a user.
    """

    def __init__(self, account_id: int) -> None:
        super().__init__(f"lease on account {account_id} lost")
        self.account_id = account_id


def _rows(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def acquire(
    session: Session, *, account_id: int, owner: str, now: datetime, ttl: timedelta
) -> bool:
    """Take the lease if it is free, expired or ours; True when we hold it afterwards."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    created = session.execute(
        insert(MailboxLease)
        .values(account_id=account_id, owner=owner, acquired_at=now, expires_at=now + ttl)
        .on_conflict_do_nothing(index_elements=["account_id"])
    )
    if _rows(created) == 1:
        return True
    taken = session.execute(
        update(MailboxLease)
        .where(
            MailboxLease.account_id == account_id,
            or_(
                MailboxLease.owner.is_(None),
                MailboxLease.owner == owner,
                MailboxLease.expires_at < now,
            ),
        )
        .values(_taking(owner, now, ttl))
        .execution_options(synchronize_session=False)
    )
    return _rows(taken) == 1


def acquire_many(
    session: Session, *, account_ids: Collection[int], owner: str, now: datetime, ttl: timedelta
) -> set[int]:
    """:func:`acquire` for many mailboxes in two statements; returns the ones now ours.

    Rows are inserted in id order and existing rows are locked with ``SKIP LOCKED`` before
    the UPDATE (PostgreSQL), so two workers acquiring overlapping sets never wait on each
    other in a cycle: one gets a row, the other skips it. SQLite has one writer at a time.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {"account_id": a, "owner": owner, "acquired_at": now, "expires_at": now + ttl} for a in ids
    ]
    created = session.execute(
        insert(MailboxLease)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["account_id"])
        .returning(MailboxLease.account_id)
    )
    got = set(created.scalars())
    rest = [a for a in ids if a not in got]
    if not rest:
        return got
    takeable = or_(
        MailboxLease.owner.is_(None), MailboxLease.owner == owner, MailboxLease.expires_at < now
    )
    lockable = list(
        session.scalars(
            select(MailboxLease.account_id)
            .where(MailboxLease.account_id.in_(rest), takeable)
            .order_by(MailboxLease.account_id)
            .with_for_update(skip_locked=True)
        )
    )
    if not lockable:
        return got
    taken = session.execute(
        update(MailboxLease)
        .where(MailboxLease.account_id.in_(lockable), takeable)
        .values(_taking(owner, now, ttl))
        .returning(MailboxLease.account_id)
        .execution_options(synchronize_session=False)
    )
    return got | set(taken.scalars())


def _taking(owner: str, now: datetime, ttl: timedelta) -> dict[str, object]:
    """SET clause of a take: a takeover counts when the row had another, expired owner."""
    return {
        "takeovers": MailboxLease.takeovers
        + case((MailboxLease.owner.is_(None), 0), (MailboxLease.owner == owner, 0), else_=1),
        "acquired_at": case((MailboxLease.owner == owner, MailboxLease.acquired_at), else_=now),
        "owner": owner,
        "expires_at": now + ttl,
    }


def renew(
    session: Session, *, owner: str, account_ids: Collection[int], now: datetime, ttl: timedelta
) -> set[int]:
    """Extend our leases; return the accounts we still own (the rest were taken over)."""
    if not account_ids:
        return set()
    ids = sorted(account_ids)
    session.execute(
        update(MailboxLease)
        .where(MailboxLease.owner == owner, MailboxLease.account_id.in_(ids))
        .values(expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return set(owned(session, owner=owner, account_ids=ids))


def owned(session: Session, *, owner: str, account_ids: Collection[int] | None = None) -> list[int]:
    query = select(MailboxLease.account_id).where(MailboxLease.owner == owner)
    if account_ids is not None:
        query = query.where(MailboxLease.account_id.in_(sorted(account_ids)))
    return list(session.scalars(query.order_by(MailboxLease.account_id)))


def release(session: Session, *, owner: str, account_ids: Collection[int], now: datetime) -> None:
    """Give leases back at once (``owner`` NULL): another worker may take them now."""
    if not account_ids:
        return
    session.execute(
        update(MailboxLease)
        .where(MailboxLease.owner == owner, MailboxLease.account_id.in_(sorted(account_ids)))
        .values(owner=None, expires_at=now)
        .execution_options(synchronize_session=False)
    )


def free(session: Session, *, candidates: Sequence[int], now: datetime) -> list[int]:
    """Of ``candidates``, the accounts nobody holds (no row, released or expired)."""
    if not candidates:
        return []
    held = set(
        session.scalars(
            select(MailboxLease.account_id).where(
                MailboxLease.account_id.in_(sorted(candidates)),
                MailboxLease.owner.is_not(None),
                MailboxLease.expires_at >= now,
            )
        )
    )
    return [a for a in candidates if a not in held]


def fence(session: Session, *, account_id: int, owner: str, now: datetime) -> None:
    """Raise :class:`LeaseLost` unless we hold an unexpired lease; lock the row until commit."""
    held = session.execute(
        update(MailboxLease)
        .where(
            MailboxLease.account_id == account_id,
            MailboxLease.owner == owner,
            MailboxLease.expires_at > now,
        )
        .values(owner=owner)
        .execution_options(synchronize_session=False)
    )
    if _rows(held) != 1:
        raise LeaseLost(account_id)


def fair_share(mailboxes: int, live_workers: int) -> int:
    """ceil(mailboxes / live workers): what one worker should own at most."""
    return math.ceil(mailboxes / max(live_workers, 1))


def share_of(owner: str, *, mailboxes: int, live: Sequence[str]) -> int:
    """This worker's target: the fair share, exactly ``mailboxes`` in total over ``live``.

    The first ``mailboxes % workers`` workers in id order take ``ceil``, the others ``floor``:
    every worker computes the same split from the same heartbeat rows, so nobody keeps a
    mailbox another worker is short of (with ``ceil`` for all, 7 mailboxes on 3 workers could
    settle at 3, 3, 1). A worker without a heartbeat row counts itself in.
    """
    workers = sorted(set(live) | {owner})
    base, extra = divmod(mailboxes, len(workers))
    return base + (1 if workers.index(owner) < extra else 0)
