"""The one way a ``jobs`` row is built (Probar, a draft's Probar, a bulk Probar, an import).

Four use cases queue or record jobs; each used to spell out every column, so a new column (or
a changed default) had to be remembered in four places. Here is that one place.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fluenzr.storage.models.users import Job


def new_job(
    *,
    workspace_id: int,
    kind: str,
    now: datetime,
    account_id: int | None = None,
    options: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
) -> Job:
    """A job row to add to a session: ``pending`` (for the sending system to claim), or, given
    its ``result``, already ``done`` (the worker only claims pending jobs, so it never runs)."""
    done = result is not None
    return Job(
        workspace_id=workspace_id,
        account_id=account_id,
        kind=kind,
        status="done" if done else "pending",
        options=json.dumps(options or {}),
        steps="[]",
        result=json.dumps(result, ensure_ascii=False) if done else None,
        attempts=0,
        created_at=now,
        started_at=now if done else None,
        finished_at=now if done else None,
    )
