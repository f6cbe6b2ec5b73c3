"""Refusing suppressed recipients (unsubscribed, bounced, complained).

The suppression list belongs to reply detection (``storage.models.detection``). It is looked up
through the shared metadata by table name, so sending works before or without that module.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from fluenzr.errors import ValidationError
from fluenzr.storage.models import Base

_TABLE_NAMES = ("suppressions", "suppression", "suppression_list")


def _table() -> Table | None:
    for name in _TABLE_NAMES:
        table = Base.metadata.tables.get(name)
        if table is not None and {"workspace_id", "email"} <= set(table.c.keys()):
            return table
    return None


def suppressed(session: Session, *, workspace_id: int, emails: Sequence[str]) -> dict[str, str]:
    """``{email: reason}`` for each of ``emails`` on the workspace's suppression list."""
    table = _table()
    if table is None or not emails:
        return {}
    wanted = {e.lower() for e in emails}
    reason = table.c.reason if "reason" in table.c else func.coalesce(None, "suppressed")
    query = select(func.lower(table.c.email), reason).where(
        table.c.workspace_id == workspace_id, func.lower(table.c.email).in_(wanted)
    )
    return {str(email): str(why or "suppressed") for email, why in session.execute(query)}


def refuse_suppressed(session: Session, *, workspace_id: int, emails: Sequence[str]) -> None:
    found = suppressed(session, workspace_id=workspace_id, emails=emails)
    if found:
        email, reason = next(iter(found.items()))
        raise ValidationError(
            "recipient_suppressed", params={"field": "to", "email": email, "reason": reason}
        )
