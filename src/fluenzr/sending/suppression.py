"""Refusing suppressed recipients (unsubscribed, bounced, complained).

The suppression list is a detection table (``storage.models.detection.Suppression``), read here
through its Core description (:mod:`fluenzr.storage.outbox_tables`, held to the model by
tests/unit/test_outbox_tables.py), so ``fluenzr send`` checks it without importing the ORM and a
renamed table or column fails a test, not mail to a suppressed address. Either an ORM session
(it flushes first, as for any query) or a Core connection runs the query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.storage.outbox_tables import suppressions

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def suppressed(
    db: Session | Connection, *, workspace_id: int, emails: Sequence[str]
) -> dict[str, str]:
    """``{email: reason}`` for each of ``emails`` on the workspace's suppression list."""
    if not emails:
        return {}
    wanted = {e.lower() for e in emails}
    lowered = func.lower(suppressions.c.email)
    query = select(lowered, suppressions.c.reason).where(
        suppressions.c.workspace_id == workspace_id, lowered.in_(wanted)
    )
    return {str(email): str(why or "suppressed") for email, why in db.execute(query)}


def refuse_suppressed(
    db: Session | Connection, *, workspace_id: int, emails: Sequence[str]
) -> None:
    found = suppressed(db, workspace_id=workspace_id, emails=emails)
    if found:
        email, reason = next(iter(found.items()))
        raise ValidationError(
            ErrorCode.RECIPIENT_SUPPRESSED, params={"field": "to", "email": email, "reason": reason}
        )
