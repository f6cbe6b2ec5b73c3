"""Deliverability of sending domains: check once per domain, share the result, re-check daily.

``fluenzr domains check``, ``GET /api/v1/domains/{domain}/check``, Probar and the account page
all go through here. One ``domain_checks`` row per domain serves every account and workspace
sending from it. :func:`run_rechecks` (the sending system) re-checks each domain in use every
``deliverability_recheck_hours`` and records ``domain_check_changed`` in each workspace that
sends from a domain whose verdicts or records changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from fluenzr.diagnose.domain_checks.check import check_domain, normalise_domain
from fluenzr.diagnose.domain_checks.findings import DomainReport, Finding, most_serious_first, score
from fluenzr.diagnose.resolve import DnsLookup, lookup_for
from fluenzr.errors import FluenzrError
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account
from fluenzr.storage.models.domain_checks import DomainCheck

log = logging.getLogger(__name__)

DOMAIN_CHECKS = frozenset({"mx", "spf", "dmarc"})  # the rest comes from a test mail
RECHECK_POLL_SECONDS = 300.0


def _domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


def cached_report(ctx: AppContext, domain: str) -> DomainReport | None:
    with ctx.sessions() as session:
        row = session.get(DomainCheck, domain.lower())
        return DomainReport.from_dict(json.loads(row.result)) if row is not None else None


def store_report(ctx: AppContext, report: DomainReport) -> DomainReport | None:
    """Save ``report`` as the domain's result; return the previous one when it differed."""
    try:
        return _store_report(ctx, report)
    except IntegrityError:  # two checks of one new domain at once (bulk Probar): update theirs
        return _store_report(ctx, report)


def _store_report(ctx: AppContext, report: DomainReport) -> DomainReport | None:
    with transaction(ctx.sessions) as session:
        row = session.get(DomainCheck, report.domain)
        previous = DomainReport.from_dict(json.loads(row.result)) if row is not None else None
        data = json.dumps(report.to_dict("en"), ensure_ascii=False)
        if row is None:
            session.add(
                DomainCheck(
                    domain=report.domain,
                    checked_at=report.checked_at,
                    score=report.score,
                    result=data,
                    fingerprint=report.fingerprint(),
                )
            )
            return None
        changed = row.fingerprint != report.fingerprint()
        row.checked_at, row.score, row.result = report.checked_at, report.score, data
        row.fingerprint = report.fingerprint()
        return previous if changed else None


async def check_and_store(
    ctx: AppContext,
    domain: str,
    *,
    lookup: DnsLookup | None = None,
    max_age: timedelta | None = None,
) -> DomainReport:
    """The domain's report: the stored one when younger than ``max_age``, else a new check."""
    name = normalise_domain(domain)
    if max_age is not None:
        found = cached_report(ctx, name)
        if found is not None and ctx.clock.now() - found.checked_at < max_age:
            return found
    report = await check_domain(lookup or lookup_for(ctx.settings), name, now=ctx.clock.now())
    await asyncio.to_thread(store_report, ctx, report)
    return report


def accounts_sharing(ctx: AppContext, domain: str) -> int:
    with ctx.sessions() as session:
        pattern = f"%@{domain.lower()}"
        query = select(func.count()).select_from(Account).where(Account.email.ilike(pattern))
        return int(session.scalar(query) or 0)


def account_summary(ctx: AppContext, account_id: int) -> dict[str, Any] | None:
    """The account page's summary: the domain's findings plus the last Probar test mail's,
    most serious first, with a score; None when nothing was checked yet."""
    with ctx.sessions() as session:
        account = session.get(Account, account_id)
        if account is None:
            return None
        email, last = account.email, account.last_test_result
    domain = _domain_of(email)
    report = cached_report(ctx, domain)
    mail: list[Finding] = []
    if last:
        try:
            stored = json.loads(last).get("deliverability") or {}
            mail = [
                Finding.from_dict(f)
                for f in stored.get("findings", [])
                if f.get("check") not in DOMAIN_CHECKS
            ]
        except (ValueError, TypeError, KeyError, AttributeError):
            mail = []
    if report is None and not mail:
        return None
    findings = most_serious_first([*(report.findings if report else []), *mail])
    return {
        "domain": domain,
        "checked_at": report.checked_at if report else None,
        "score": score(findings),
        "findings": findings,
        "shared": accounts_sharing(ctx, domain),
    }


def domains_in_use(ctx: AppContext) -> dict[str, set[int]]:
    """Sending domain → the workspaces with an account there."""
    with ctx.sessions() as session:
        rows = session.execute(select(Account.email, Account.workspace_id)).all()
    out: dict[str, set[int]] = {}
    for email, workspace_id in rows:
        out.setdefault(_domain_of(email), set()).add(workspace_id)
    return out


def _record_change(
    ctx: AppContext, domain: str, workspaces: set[int], now: DomainReport, before: DomainReport
) -> None:
    data = {
        "domain": domain,
        "score": now.score,
        "previous_score": before.score,
        "findings": [f"{f.check}:{f.severity}:{f.code}" for f in most_serious_first(now.findings)],
        "previous_findings": [f"{f.check}:{f.severity}:{f.code}" for f in before.findings],
    }
    with transaction(ctx.sessions) as session:
        for workspace_id in sorted(workspaces):
            record_event(session, workspace_id=workspace_id, type="domain_check_changed", data=data)


async def recheck_due(
    ctx: AppContext, *, lookup: DnsLookup | None = None, stop: asyncio.Event | None = None
) -> list[str]:
    """Re-check every domain in use whose result is older than the setting; return the domains
    whose result changed (an event was recorded for each)."""
    hours = ctx.settings.deliverability_recheck_hours
    if hours <= 0:
        return []
    max_age = timedelta(hours=hours)
    changed: list[str] = []
    in_use = await asyncio.to_thread(domains_in_use, ctx)
    for domain, workspaces in sorted(in_use.items()):
        if stop is not None and stop.is_set():
            break
        found = await asyncio.to_thread(cached_report, ctx, domain)
        if found is not None and ctx.clock.now() - found.checked_at < max_age:
            continue
        try:
            name = normalise_domain(domain)
            report = await check_domain(
                lookup or lookup_for(ctx.settings), name, now=ctx.clock.now()
            )
        except FluenzrError as error:  # one bad domain never stops the others
            log.warning("deliverability re-check of %s failed: %s", domain[:100], error.code)
            continue
        before = await asyncio.to_thread(store_report, ctx, report)
        if before is not None:
            await asyncio.to_thread(_record_change, ctx, domain, workspaces, report, before)
            changed.append(domain)
    return changed


async def run_rechecks(
    ctx: AppContext, *, stop: asyncio.Event, poll: float = RECHECK_POLL_SECONDS
) -> None:
    """The sending system's periodic re-check loop (off when the setting is 0)."""
    if ctx.settings.deliverability_recheck_hours <= 0:
        return
    while not stop.is_set():
        try:
            await recheck_due(ctx, stop=stop)
        except Exception:  # a database hiccup must not end the worker
            log.exception("deliverability re-check failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=poll)
        except TimeoutError:
            continue
