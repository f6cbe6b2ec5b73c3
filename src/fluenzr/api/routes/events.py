"""Events: sends, replies, bounces, pauses… newest first, or incrementally after an id."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from fluenzr.api.schemas import MAX_ID
from fluenzr.http.deps import CtxDep, WorkspaceDep
from fluenzr.services import events_query
from fluenzr.storage.events import EventView

router = APIRouter(prefix="/events", tags=["events"])
# detection.intents.INTENTS (tests/unit/test_intents.py checks they agree).
Intent = Literal[
    "unsubscribe",
    "left_company",
    "wrong_person",
    "not_interested",
    "referral",
    "meeting",
    "interested",
    "question",
    "unknown",
]


@router.get("", response_model=list[EventView])
def list_events(
    ctx: CtxDep,
    workspace: WorkspaceDep,
    type: Annotated[list[str] | None, Query(max_length=20)] = None,
    since: Annotated[str | None, Query(max_length=40, description="ISO 8601")] = None,
    account_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    after_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    intent: Annotated[
        Intent | None, Query(description="only replies with this intent (detection.intents)")
    ] = None,
) -> list[EventView]:
    return events_query.list_events(
        ctx,
        workspace_id=workspace,
        types=[t[:40] for t in type] if type else None,
        since=events_query.parse_since(since),
        account_id=account_id,
        after_id=after_id,
        limit=limit,
        intent=intent,
    )
