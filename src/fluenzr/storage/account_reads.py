"""Reads of workspaces and accounts with SQLAlchemy Core alone, for start-up-bound commands.

``fluenzr accounts list`` (and every CLI command's choice of workspace) runs once per process,
so importing the ORM and every model module (~0.25 s) would cost more than the query. These
lightweight ``table()``/``column()`` descriptions name the same tables and columns as the models
in :mod:`fluenzr.storage.models.accounts`, with the same types (so SQLite's text timestamps and
0/1 booleans come back as ``datetime`` and ``bool``, exactly as through the ORM);
tests/unit/test_account_reads.py checks them against the models' tables, so a rename there
fails a test instead of a query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, DateTime, Engine, Integer, LargeBinary, String, Text, select
from sqlalchemy.sql import column, table

workspaces = table("workspaces", column("id", Integer))

accounts = table(
    "accounts",
    column("id", Integer),
    column("workspace_id", Integer),
    column("email", String),
    column("display_name", String),
    column("provider", String),
    column("smtp_host", String),
    column("smtp_port", Integer),
    column("smtp_security", String),
    column("smtp_username", String),
    column("smtp_password_sealed", LargeBinary),
    column("imap_host", String),
    column("imap_port", Integer),
    column("imap_security", String),
    column("imap_username", String),
    column("imap_password_sealed", LargeBinary),
    column("smtp_ca_pem", Text),
    column("imap_ca_pem", Text),
    column("pin_sha256", String),
    column("smtp_auth", Boolean),
    column("auth_method", String),
    column("daily_limit", Integer),
    column("hourly_limit", Integer),
    column("min_interval", Integer),
    column("max_interval", Integer),
    column("timezone", String),
    column("send_window", Text),
    column("warmup_start", Integer),
    column("warmup_increment", Integer),
    column("status", String),
    column("status_reason", String),
    column("paused_until", DateTime(timezone=True)),
    column("last_error", Text),
    column("last_test_at", DateTime(timezone=True)),
    column("last_test_ok", Boolean),
    column("created_at", DateTime(timezone=True)),
    column("updated_at", DateTime(timezone=True)),
)


def first_workspace_id(engine: Engine) -> int | None:
    """The first workspace's id (the one the CLI acts in); None before the first is created."""
    with engine.connect() as connection:
        found = connection.scalar(select(workspaces.c.id).order_by(workspaces.c.id).limit(1))
    return None if found is None else int(found)


def account_rows(engine: Engine, *, workspace_id: int) -> list[dict[str, Any]]:
    """Every account of a workspace, by id, as column → value (sealed secrets included)."""
    query = select(accounts).where(accounts.c.workspace_id == workspace_id).order_by(accounts.c.id)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]
