"""Deliverability of a sending domain: ``GET /api/v1/domains/{domain}/check``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Path, Query

from fluenzr.http.deps import CtxDep, CurrentUser, LangDep
from fluenzr.services.domain_checks import check_and_store

router = APIRouter(tags=["domains"])

FRESH = timedelta(minutes=10)


@router.get("/domains/{domain}/check")
async def check_domain_route(
    ctx: CtxDep,
    _user: CurrentUser,
    lang: LangDep,
    domain: str = Path(max_length=320),
    refresh: bool = Query(False, description="Check now even if checked in the last 10 minutes."),
) -> dict[str, Any]:
    """MX, SPF and DMARC of ``domain``: each finding with its severity (ok / warning / error),
    the record found and how to fix it; a score out of 100. Shared by every account there."""
    report = await check_and_store(ctx, domain, max_age=None if refresh else FRESH)
    return report.to_dict(lang)
