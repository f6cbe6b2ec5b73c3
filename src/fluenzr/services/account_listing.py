"""The account list as plain JSON-ready dicts: what ``fluenzr accounts list`` prints.

Each dict is exactly ``AccountView.model_dump(mode="json")`` of the same account (same keys,
same order, same values, timestamps as pydantic writes them), built from a Core read
(:mod:`fluenzr.storage.account_reads`) without pydantic, the ORM or the vault: a command that
shows no secret should not pay ~0.5 s of imports to show a list. tests/unit/test_account_reads.py
checks the two agree.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from fluenzr.services import account_health
from fluenzr.storage import account_query
from fluenzr.storage.account_reads import account_rows

# AccountView's fields, in its order; value: the column it is read from as it is.
_PLAIN = (
    "id",
    "workspace_id",
    "email",
    "display_name",
    "provider",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
)
_IMAP = ("imap_host", "imap_port", "imap_security", "imap_username")
_MIDDLE = (
    "smtp_ca_pem",
    "imap_ca_pem",
    "pin_sha256",
    "smtp_auth",
)
_LIMITS = (
    "daily_limit",
    "hourly_limit",
    "min_interval",
    "max_interval",
    "timezone",
)


def _time(value: datetime | None) -> str | None:
    """A stored timestamp as pydantic's JSON mode writes it (UTC as ``Z``)."""
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes; every one we store is UTC
        value = value.replace(tzinfo=UTC)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def account_dict(row: dict[str, Any]) -> dict[str, Any]:
    """One account row → the public view (``password_set`` instead of any sealed secret)."""
    view: dict[str, Any] = {name: row[name] for name in _PLAIN}
    view["password_set"] = bool(row["smtp_password_sealed"])
    view.update((name, row[name]) for name in _IMAP)
    view["imap_password_set"] = bool(row["imap_password_sealed"] or row["imap_host"])
    view.update((name, row[name]) for name in _MIDDLE)
    view["auth_method"] = row["auth_method"] or "password"
    view.update((name, row[name]) for name in _LIMITS)
    view["send_window"] = _json(row["send_window"])
    view["warmup_start"] = row["warmup_start"]
    view["warmup_increment"] = row["warmup_increment"]
    view["status"] = row["status"]
    view["status_reason"] = row["status_reason"]
    view["paused_until"] = _time(row["paused_until"])
    view["last_error"] = _json(row["last_error"])
    view["last_test_at"] = _time(row["last_test_at"])
    view["last_test_ok"] = row["last_test_ok"]
    view["created_at"] = _time(row["created_at"])
    view["updated_at"] = _time(row["updated_at"])
    return view


def list_account_dicts(engine: Engine, *, workspace_id: int) -> list[dict[str, Any]]:
    """The workspace's accounts, by id, as `AccountView.model_dump(mode="json")` would show them."""
    return [account_dict(row) for row in account_rows(engine, workspace_id=workspace_id)]


# -- one page at fleet size: the table, ``accounts list`` with options, the API ---------------

COUNTED = ("sent", "reply", "bounce")
WINDOW_DAYS = 30


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # SQLite hands back naive datetimes; all are UTC


def _sent_today(
    connection: Connection, rows: list[dict[str, Any]], now: datetime
) -> dict[int, int]:
    """Sends since midnight in each account's own time zone (one query per zone on the page)."""
    by_zone: dict[str, list[int]] = {}
    for row in rows:
        by_zone.setdefault(row["timezone"] or "UTC", []).append(row["id"])
    out: dict[int, int] = {}
    for name, ids in by_zone.items():
        local = now.astimezone(_zone(name))
        start = datetime.combine(local.date(), time(0), tzinfo=local.tzinfo).astimezone(UTC)
        counts = account_query.event_counts(connection, ids, since=start, types=("sent",))
        out.update({account_id: counts.get((account_id, "sent"), 0) for account_id in ids})
    return out


def _auth_failures(connection: Connection, ids: list[int], since: datetime) -> dict[int, int]:
    out: dict[int, int] = {}
    for account_id, data in account_query.pause_reasons(connection, ids, since=since):
        try:
            parsed = json.loads(data or "{}")
        except ValueError:
            continue
        reason = parsed.get("reason") if isinstance(parsed, dict) else None
        if isinstance(reason, str) and reason in account_health.CREDENTIAL_REASONS:
            out[int(account_id)] = out.get(int(account_id), 0) + 1
    return out


def _enrich(engine: Engine, rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Each row's public view plus ``tags``, 30-day ``stats`` and ``health`` (bounded by the
    page: every query below takes the page's ids, never the workspace's)."""
    ids = [row["id"] for row in rows]
    since = now - timedelta(days=WINDOW_DAYS)
    with engine.connect() as connection:
        tags = account_query.tags_of(connection, ids)
        counts = account_query.event_counts(connection, ids, since=since, types=COUNTED)
        today = _sent_today(connection, rows, now)
        failures = _auth_failures(connection, ids, since)
        paused = account_query.paused_at(connection, ids)
    out = []
    for row in rows:
        account_id = row["id"]
        sent, bounces = counts.get((account_id, "sent"), 0), counts.get((account_id, "bounce"), 0)
        sent_today = today.get(account_id, 0)
        stats = {
            "sent_today": sent_today,
            "sent_30d": sent,
            "replies_30d": counts.get((account_id, "reply"), 0),
            "bounces_30d": bounces,
            "bounce_rate": round(bounces / sent, 4) if sent else None,
        }
        facts = account_health.HealthFacts(
            status=row["status"],
            status_reason=row["status_reason"],
            last_test_ok=row["last_test_ok"],
            sent_30d=sent,
            bounces_30d=bounces,
            auth_failures_30d=failures.get(account_id, 0),
            paused_since=_aware(paused.get(account_id)),
            sent_today=sent_today,
            daily_limit=row["daily_limit"],
        )
        view = account_dict(row)
        view["tags"] = tags.get(account_id, [])
        view["stats"] = stats
        view["health"] = account_health.health(facts, now=now).as_dict()
        out.append(view)
    return out


def account_page_dicts(
    engine: Engine,
    *,
    workspace_id: int,
    chosen: account_query.AccountFilter,
    paging: account_query.PageRequest,
    now: datetime,
) -> dict[str, Any]:
    """``{"total", "page", "per_page", "accounts": [...]}``: one page of the filtered list, each
    account as :func:`account_dict` plus ``tags``, ``stats`` and ``health``."""
    found = account_query.account_page(
        engine, workspace_id=workspace_id, chosen=chosen, paging=paging
    )
    return {
        "total": found.total,
        "page": found.page,
        "per_page": found.per_page,
        "accounts": _enrich(engine, found.rows, now),
    }


def one_account_dict(
    engine: Engine, *, workspace_id: int, account_id: int, now: datetime
) -> dict[str, Any] | None:
    """One account as a row of :func:`account_page_dicts` (None: not in this workspace)."""
    row = account_query.account_row(engine, workspace_id=workspace_id, account_id=account_id)
    return None if row is None else _enrich(engine, [row], now)[0]
