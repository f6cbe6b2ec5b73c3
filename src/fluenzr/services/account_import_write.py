"""Writing many new accounts at once: one transaction per chunk of import rows.

An import of 10,000 rows written one ORM transaction per row spent ~10 ms of CPU a row, four
times the cost of sealing its password. Here a chunk of already-checked rows is written with
three statements — one multi-row ``INSERT … RETURNING id`` for the accounts, one bulk
``UPDATE`` by primary key for their sealed passwords (the id is part of the sealed value's
associated data, so it must exist first), one multi-row ``INSERT`` for their tags — plus the
vault-key check :func:`~fluenzr.services.accounts.create_account` makes, in one transaction.

The rows are exactly the ones ``create_account`` writes: the transient
:class:`~fluenzr.storage.models.Account` comes from
:func:`~fluenzr.services.accounts.new_account` (the form's checks and defaults), each column
left unset takes its model default, and the passwords are sealed by the same
:func:`~fluenzr.services.accounts.seal_passwords`. Any failure rolls the whole chunk back and
is raised: the caller (:mod:`fluenzr.services.account_import`) then writes the chunk row by row
so one bad row is reported and the others are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, bindparam, insert, update

from fluenzr.services import accounts
from fluenzr.services.account_config import AccountInput
from fluenzr.services.context import AppContext
from fluenzr.services.seal_keys import ensure_sealing_key_current
from fluenzr.storage.base import utcnow
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.fleet import AccountTag

_ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
_TAGS: Table = AccountTag.__table__  # type: ignore[assignment]
_TIMESTAMPS = frozenset({"created_at", "updated_at"})
_COLUMNS: list[Column[Any]] = [c for c in _ACCOUNTS.columns if c.key != "id"]
_SET_PASSWORDS = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("row_id"))
    .values(
        smtp_password_sealed=bindparam("smtp_password_sealed"),
        imap_password_sealed=bindparam("imap_password_sealed"),
        credentials_changed_at=bindparam("credentials_changed_at"),
    )
)


@dataclass
class NewAccount:
    """A checked row to insert: the transient account, the input holding its passwords, tags."""

    account: Account
    data: AccountInput
    tags: list[str]


def _default(column: Column[Any], now: datetime) -> Any:
    """What the ORM would store for a column the row never set (the model's default).

    Every column is sent (one key set per chunk), so a column without a Python default would
    be an explicit NULL, overriding a server default: ``tests/unit/test_account_import_write``
    holds every server default to a Python one."""
    if column.key in _TIMESTAMPS:
        return now  # one instant for the whole chunk
    default = column.default
    if default is None:
        return None
    if getattr(default, "is_scalar", False):
        return getattr(default, "arg", None)
    if getattr(default, "is_callable", False):
        # SQLAlchemy wraps a callable default to take the execution context; ours ignore it.
        return default.arg(None)  # type: ignore[attr-defined]
    return None


def _values(account: Account, now: datetime) -> dict[str, Any]:
    # Every column, so all rows of a chunk share one key set (one executemany).
    state = account.__dict__
    return {c.key: state[c.key] if c.key in state else _default(c, now) for c in _COLUMNS}


def insert_accounts(ctx: AppContext, rows: Sequence[NewAccount]) -> list[int]:
    """Insert every row with its sealed passwords and tags in one transaction; the new ids, in
    the rows' order. Nothing is written when anything fails (a duplicate address created
    meanwhile, a retired vault key): the error is raised for the caller to fall back."""
    if not rows:
        return []
    now = utcnow()
    with transaction(ctx.sessions) as session:
        # Core statements on the tables: the ORM's per-row bookkeeping is what made it slow.
        # Matched back by address (unique in the workspace and in the chunk), not by order:
        # asking SQLite for RETURNING in parameter order makes SQLAlchemy insert row by row.
        inserted = session.execute(
            insert(_ACCOUNTS).returning(_ACCOUNTS.c.email, _ACCOUNTS.c.id),
            [_values(row.account, now) for row in rows],
        )
        by_email: dict[str, int] = {email: account_id for email, account_id in inserted}
        ids = [by_email[row.account.email] for row in rows]
        sealed: list[bytes] = []
        passwords: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        for row, account_id in zip(rows, ids, strict=True):
            row.account.id = account_id
            sealed += accounts.seal_passwords(ctx, row.account, row.data)
            passwords.append(
                {
                    "row_id": account_id,
                    "smtp_password_sealed": row.account.smtp_password_sealed,
                    "imap_password_sealed": row.account.imap_password_sealed,
                    "credentials_changed_at": row.account.credentials_changed_at,
                }
            )
            tags += [{"account_id": account_id, "tag": tag, "created_at": now} for tag in row.tags]
        session.execute(_SET_PASSWORDS, passwords)
        if tags:
            session.execute(insert(_TAGS), tags)
        if sealed:
            ensure_sealing_key_current(session, sealed)
    return ids
