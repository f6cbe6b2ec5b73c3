"""A recipient's rows in the workspace: their state (replies, bounces) and the suppression list.

Detection (replies, bounces, complaints, unsubscribes), sending (a hard rejection at RCPT) and
the suppression API all write through here, so an address is suppressed and its state kept
one way whichever path learns about it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fluenzr.storage.models.detection import RecipientState, Suppression


def remember_recipient_states(session: Session, *, workspace_id: int, emails: list[str]) -> None:
    """Load the states of ``emails`` into the session's memory (absent ones as known-absent)."""
    known: dict[tuple[int, str], RecipientState | None] = session.info.setdefault(
        "recipient_states", {}
    )
    wanted = [e.lower() for e in emails]
    for email in wanted:
        known.setdefault((workspace_id, email), None)
    rows = session.scalars(
        select(RecipientState).where(
            RecipientState.workspace_id == workspace_id, RecipientState.email.in_(wanted)
        )
    )
    for row in rows:
        known[(workspace_id, row.email)] = row


def recipient_state(session: Session, *, workspace_id: int, email: str) -> RecipientState:
    """The recipient's state row, created if missing. Remembered in the session, so a batch
    processed without autoflush never creates the same row twice."""
    email = email.lower()
    known: dict[tuple[int, str], RecipientState | None] = session.info.setdefault(
        "recipient_states", {}
    )
    state = known.get((workspace_id, email))
    if state is None and (workspace_id, email) not in known:
        state = session.scalar(
            select(RecipientState).where(
                RecipientState.workspace_id == workspace_id, RecipientState.email == email
            )
        )
    if state is None:
        state = RecipientState(workspace_id=workspace_id, email=email, reply_count=0)
        session.add(state)
    known[(workspace_id, email)] = state
    return state


def suppress(
    session: Session,
    *,
    workspace_id: int,
    email: str,
    reason: str,
    detail: str | None = None,
    account_id: int | None = None,
) -> bool:
    """Put ``email`` on the workspace's suppression list; False if it already was."""
    email = email.strip().lower()
    exists = session.scalar(
        select(Suppression.id).where(
            Suppression.workspace_id == workspace_id, Suppression.email == email
        )
    )
    if exists is not None:
        return False
    session.add(
        Suppression(
            workspace_id=workspace_id,
            email=email,
            reason=reason,
            detail=detail,
            account_id=account_id,
        )
    )
    session.flush()
    return True


__all__ = ["recipient_state", "remember_recipient_states", "suppress"]
