"""Liveness for load balancers and scripts: the process answers and the database is reachable."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from fluenzr import __version__
from fluenzr.http.deps import SessionDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    ok: bool
    version: str
    role: Literal["all", "web"]
    database: Literal["ok"]


@router.get("/health", response_model=Health)
def health(request: Request, session: SessionDep) -> Health:
    """No authentication; says nothing about accounts."""
    session.execute(text("SELECT 1"))
    return Health(ok=True, version=__version__, role=request.app.state.role, database="ok")
