"""One page of a workspace's accounts at fleet size, with SQLAlchemy Core: filter, search, sort.

The CLI (``accounts list``), the API and the "Cuentas de Email" page ask the same question:
which accounts match, in what order, which slice, and how many in all. The query is built here
once; every sortable column is named in :data:`SORTS` (a user never names a SQL column), and
every filter value is a bound parameter. Search is a case-insensitive substring of the email
(which covers its domain), the display name and the SMTP/IMAP host; ``LIKE`` wildcards typed by
the user are escaped, so ``%`` finds a per-cent sign, not everything.

Core only (no ORM, no pydantic): ``accounts list`` imports this at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    and_,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, column, table

from fluenzr.storage.account_reads import accounts

account_tags = table(
    "account_tags",
    column("account_id", Integer),
    column("tag", String),
    column("created_at", DateTime(timezone=True)),
)

events = table(
    "events",
    column("id", Integer),
    column("workspace_id", Integer),
    column("account_id", Integer),
    column("type", String),
    column("data", Text),
    column("created_at", DateTime(timezone=True)),
)

sending_state = table(
    "sending_state",
    column("account_id", Integer),
    column("paused_at", DateTime(timezone=True)),
)

# sort key (what a URL or an option says) → the column it orders by
SORTS: dict[str, Any] = {
    "id": accounts.c.id,
    "email": accounts.c.email,
    "name": accounts.c.display_name,
    "provider": accounts.c.provider,
    "host": accounts.c.smtp_host,
    "status": accounts.c.status,
    "daily_limit": accounts.c.daily_limit,
    "last_test": accounts.c.last_test_at,
    "created": accounts.c.created_at,
}
STATUSES = ("active", "paused", "error")
TEST_OUTCOMES = ("ok", "failed", "never")
MAX_PER_PAGE = 500
MAX_SEARCH = 200


@dataclass(frozen=True)
class AccountFilter:
    """What narrows the list; empty strings mean "any". Values are checked by the services."""

    search: str = ""
    status: str = ""
    provider: str = ""
    tag: str = ""
    test: str = ""  # ok | failed | never
    reason: str = ""  # a paused (or errored) account's status_reason

    @property
    def empty(self) -> bool:
        return not any((self.search, self.status, self.provider, self.tag, self.test, self.reason))


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    per_page: int = 50  # 0: every match on one page (the CLI's default, for scripts)
    sort: str = "id"
    descending: bool = False


@dataclass(frozen=True)
class AccountPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int


CHUNK = 5_000  # ids per IN (…): far under SQLite's and PostgreSQL's bound-parameter limits


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def conditions(workspace_id: int, chosen: AccountFilter) -> list[ColumnElement[bool]]:
    """The WHERE clause of ``chosen`` as a list of conditions (and-ed)."""
    where: list[ColumnElement[bool]] = [accounts.c.workspace_id == workspace_id]
    if chosen.search:
        pattern = _like(chosen.search[:MAX_SEARCH])
        where.append(
            or_(
                *(
                    func.lower(col).like(pattern, escape="\\")
                    for col in (
                        accounts.c.email,
                        accounts.c.display_name,
                        accounts.c.smtp_host,
                        accounts.c.imap_host,
                    )
                )
            )
        )
    if chosen.status:
        where.append(accounts.c.status == chosen.status)
    if chosen.provider:
        where.append(accounts.c.provider == chosen.provider)
    if chosen.reason:
        where.append(accounts.c.status_reason == chosen.reason)
    if chosen.test == "ok":
        where.append(accounts.c.last_test_ok.is_(True))
    elif chosen.test == "failed":
        where.append(accounts.c.last_test_ok.is_(False))
    elif chosen.test == "never":
        where.append(accounts.c.last_test_ok.is_(None))
    if chosen.tag:
        where.append(
            exists().where(
                and_(account_tags.c.account_id == accounts.c.id, account_tags.c.tag == chosen.tag)
            )
        )
    return where


def account_page(
    engine: Engine, *, workspace_id: int, chosen: AccountFilter, paging: PageRequest
) -> AccountPage:
    """The matching accounts' rows for one page, and how many match in all."""
    where = conditions(workspace_id, chosen)
    order = SORTS.get(paging.sort, accounts.c.id)
    ordering = [order.desc() if paging.descending else order.asc()]
    if order is not accounts.c.id:  # a stable order across pages when values tie
        ordering.append(accounts.c.id.desc() if paging.descending else accounts.c.id.asc())
    query = select(accounts).where(*where).order_by(*ordering)
    if paging.per_page:
        query = query.limit(paging.per_page).offset((paging.page - 1) * paging.per_page)
    counting = select(func.count()).select_from(accounts).where(*where)
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
        total = len(rows) if not paging.per_page else int(connection.scalar(counting) or 0)
    return AccountPage(rows=rows, total=total, page=paging.page, per_page=paging.per_page)


def matching_ids(engine: Engine, *, workspace_id: int, chosen: AccountFilter) -> list[int]:
    """Every matching account's id, by id (a bulk action "on the whole filter")."""
    query = select(accounts.c.id).where(*conditions(workspace_id, chosen)).order_by(accounts.c.id)
    with engine.connect() as connection:
        return [int(found) for found in connection.scalars(query)]


def owned_ids(engine: Engine, *, workspace_id: int, ids: Iterable[int]) -> list[int]:
    """Those of ``ids`` that are accounts of this workspace (a selection from a form)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    found: list[int] = []
    with engine.connect() as connection:
        for part in _chunks(wanted):
            query = select(accounts.c.id).where(
                accounts.c.workspace_id == workspace_id, accounts.c.id.in_(part)
            )
            found.extend(int(i) for i in connection.scalars(query))
    return sorted(found)


def tags_of(connection: Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    """Each account's tags, sorted."""
    out: dict[int, list[str]] = {account_id: [] for account_id in ids}
    if not ids:
        return out
    for part in _chunks(ids):
        query = (
            select(account_tags.c.account_id, account_tags.c.tag)
            .where(account_tags.c.account_id.in_(part))
            .order_by(account_tags.c.account_id, account_tags.c.tag)
        )
        for account_id, tag in connection.execute(query):
            out[int(account_id)].append(str(tag))
    return out


def event_counts(
    connection: Connection, ids: Sequence[int], *, since: datetime, types: Sequence[str]
) -> dict[tuple[int, str], int]:
    """(account id, event type) → events since ``since`` (index ix_events_account_type_created)."""
    if not ids:
        return {}
    out: dict[tuple[int, str], int] = {}
    for part in _chunks(ids):
        query = (
            select(events.c.account_id, events.c.type, func.count())
            .where(
                events.c.account_id.in_(part),
                events.c.type.in_(list(types)),
                events.c.created_at >= since,
            )
            .group_by(events.c.account_id, events.c.type)
        )
        out.update({(int(a), str(t)): int(n) for a, t, n in connection.execute(query)})
    return out


def pause_reasons(connection: Connection, ids: Sequence[int], *, since: datetime) -> list[Any]:
    """(account id, data JSON) of every ``account_paused`` event since ``since``."""
    if not ids:
        return []
    rows: list[Any] = []
    for part in _chunks(ids):
        query = select(events.c.account_id, events.c.data).where(
            events.c.account_id.in_(part),
            events.c.type == "account_paused",
            events.c.created_at >= since,
        )
        rows.extend(connection.execute(query))
    return rows


def paused_at(connection: Connection, ids: Sequence[int]) -> dict[int, datetime]:
    if not ids:
        return {}
    out: dict[int, datetime] = {}
    for part in _chunks(ids):
        query = select(sending_state.c.account_id, sending_state.c.paused_at).where(
            sending_state.c.account_id.in_(part), sending_state.c.paused_at.is_not(None)
        )
        out.update({int(a): when for a, when in connection.execute(query)})
    return out


def distinct_values(engine: Engine, *, workspace_id: int) -> dict[str, list[str]]:
    """The providers, pause reasons and tags in use (the filter selects' options)."""
    of_workspace = accounts.c.workspace_id == workspace_id
    with engine.connect() as connection:
        providers = connection.scalars(
            select(accounts.c.provider).where(of_workspace).distinct().order_by(accounts.c.provider)
        )
        reasons = connection.scalars(
            select(accounts.c.status_reason)
            .where(of_workspace, accounts.c.status_reason.is_not(None))
            .distinct()
            .order_by(accounts.c.status_reason)
        )
        tags = connection.scalars(
            select(account_tags.c.tag)
            .join(accounts, accounts.c.id == account_tags.c.account_id)
            .where(of_workspace)
            .distinct()
            .order_by(account_tags.c.tag)
        )
        return {
            "providers": [str(p) for p in providers],
            "reasons": [str(r) for r in reasons],
            "tags": [str(t) for t in tags],
        }


def account_row(engine: Engine, *, workspace_id: int, account_id: int) -> dict[str, Any] | None:
    query = select(accounts).where(
        accounts.c.workspace_id == workspace_id, accounts.c.id == account_id
    )
    with engine.connect() as connection:
        found = connection.execute(query).mappings().first()
    return None if found is None else dict(found)


def statuses_of(engine: Engine, *, workspace_id: int, ids: Iterable[int]) -> dict[int, str]:
    """Each of ``ids`` (this workspace's) → its status."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    out: dict[int, str] = {}
    with engine.connect() as connection:
        for part in _chunks(wanted):
            query = select(accounts.c.id, accounts.c.status).where(
                accounts.c.workspace_id == workspace_id, accounts.c.id.in_(part)
            )
            out.update({int(i): str(status) for i, status in connection.execute(query)})
    return out
