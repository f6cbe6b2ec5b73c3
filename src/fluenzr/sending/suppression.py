"""Refusing suppressed recipients (unsubscribed, bounced, complained).

The suppression list is a detection table (``storage.models.detection.Suppression``), read here
by its model so a renamed table or column is a type error, not mail to a suppressed address.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.storage.models.detection import Suppression


def suppressed(session: Session, *, workspace_id: int, emails: Sequence[str]) -> dict[str, str]:
    """``{email: reason}`` for each of ``emails`` on the workspace's suppression list."""
    if not emails:
        return {}
    wanted = {e.lower() for e in emails}
    query = select(func.lower(Suppression.email), Suppression.reason).where(
        Suppression.workspace_id == workspace_id, func.lower(Suppression.email).in_(wanted)
    )
    return {str(email): str(why or "suppressed") for email, why in session.execute(query)}


def refuse_suppressed(session: Session, *, workspace_id: int, emails: Sequence[str]) -> None:
    found = suppressed(session, workspace_id=workspace_id, emails=emails)
    if found:
        email, reason = next(iter(found.items()))
        raise ValidationError(
            ErrorCode.RECIPIENT_SUPPRESSED, params={"field": "to", "email": email, "reason": reason}
        )
