"""The workspace's suppression list: addresses FluenzR never sends to again."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import DuplicateError, NotFoundError, ValidationError
from fluenzr.services import account_rules
from fluenzr.services.context import AppContext
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models.detection import Suppression
from fluenzr.storage.recipients import suppress

REASONS = ("bounce", "unsubscribe", "complaint", "manual")


class SuppressionView(BaseModel):
    email: str
    reason: str
    detail: str | None
    account_id: int | None
    created_at: datetime


def _view(row: Suppression) -> SuppressionView:
    return SuppressionView(
        email=row.email,
        reason=row.reason,
        detail=row.detail,
        account_id=row.account_id,
        created_at=aware(row.created_at) or row.created_at,
    )


def normalise_email(value: str) -> str:
    text = (value or "").strip()
    try:
        return account_rules.email(text).lower()  # one rule for every address we accept
    except ValidationError as exc:
        raise ValidationError(
            ErrorCode.SUPPRESSION_EMAIL_INVALID,
            params={"field": "email", "value": text},
            detail=exc.params.get("reason"),
        ) from exc


def list_suppressions(
    ctx: AppContext, *, workspace_id: int, reason: str | None = None
) -> list[SuppressionView]:
    with ctx.sessions() as session:
        query = select(Suppression).where(Suppression.workspace_id == workspace_id)
        if reason:
            query = query.where(Suppression.reason == reason)
        return [_view(r) for r in session.scalars(query.order_by(Suppression.created_at.desc()))]


def add_suppression(
    ctx: AppContext, *, workspace_id: int, email: str, reason: str = "manual"
) -> SuppressionView:
    if reason not in REASONS:
        raise ValidationError(
            ErrorCode.SUPPRESSION_REASON_INVALID,
            params={"field": "reason", "value": reason, "allowed": ", ".join(REASONS)},
        )
    address = normalise_email(email)
    with transaction(ctx.sessions) as session:
        if not suppress(session, workspace_id=workspace_id, email=address, reason=reason):
            raise DuplicateError(
                ErrorCode.SUPPRESSION_EXISTS, params={"field": "email", "email": address}
            )
        row = session.scalars(
            select(Suppression).where(
                Suppression.workspace_id == workspace_id, Suppression.email == address
            )
        ).one()
        return _view(row)


def remove_suppression(ctx: AppContext, *, workspace_id: int, email: str) -> None:
    address = (email or "").strip().lower()
    with transaction(ctx.sessions) as session:
        row = session.scalar(
            select(Suppression).where(
                Suppression.workspace_id == workspace_id, Suppression.email == address
            )
        )
        if row is None:
            raise NotFoundError(ErrorCode.SUPPRESSION_NOT_FOUND, params={"email": address})
        session.delete(row)


__all__ = [
    "REASONS",
    "SuppressionView",
    "add_suppression",
    "list_suppressions",
    "remove_suppression",
]
