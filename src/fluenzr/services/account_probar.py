"""Probar (the "Probar" button): test an account end to end, store the outcome, record an event.

The CLI (`fluenzr accounts test`), the API and the web UI's job runner all call
:func:`run_probar`. ``on_step`` is called with each :class:`StepResult` as the step finishes, so a
UI can stream progress. Reports and steps offer ``model_dump(mode="json")`` like the API models.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from datetime import timedelta
from typing import Any

from fluenzr.diagnose.probar import ProbarSeams, default_seams, probe_mailbox
from fluenzr.diagnose.report import ProbarReport
from fluenzr.diagnose.runner import ProgressCallback
from fluenzr.errors import FluenzrError
from fluenzr.services.accounts import get_account, open_credentials
from fluenzr.services.context import AppContext
from fluenzr.services.domain_checks import check_and_store
from fluenzr.services.probar_token import token_step
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account

__all__ = ["ProbarReport", "ProbarSeams", "run_probar", "temporary_throttle"]

# A server saying "not now" (a 4xx limit): a warning about the moment, not about the settings.
THROTTLE_CODES = frozenset({"sending_limit", "auth_throttled", "temporary_failure", "rate_limited"})


def temporary_throttle(error: Any) -> bool:
    """Whether a stored Probar error (dict) is a temporary 4xx limit rather than a fault."""
    if not isinstance(error, dict) or str(error.get("code")) not in THROTTLE_CODES:
        return False
    reply = error.get("reply_code")
    return reply is None or (isinstance(reply, int) and 400 <= reply < 500)


async def run_probar(
    ctx: AppContext,
    *,
    account_id: int,
    workspace_id: int | None = None,
    send_test_mail: bool = True,
    on_step: ProgressCallback | None = None,
    seams: ProbarSeams | None = None,
    bulk: bool = False,
) -> ProbarReport:
    """Test one account (of ``workspace_id`` when given: else ``NotFoundError``) and store it.

    Runs as the sending system: it opens the account's credentials. ``bulk``: part of a bulk
    Probar, whose one summary is the notification (not a bell item per failing account).
    """
    if workspace_id is not None:
        get_account(ctx, workspace_id=workspace_id, account_id=account_id)
    chosen = seams or default_seams(ctx.settings)
    if _is_oauth(ctx, account_id):
        token, credentials, error = await token_step(ctx, account_id)
        if on_step is not None:
            maybe = on_step(token)
            if inspect.isawaitable(maybe):
                await maybe
        if credentials is None:
            report = ProbarReport(
                account_id=account_id,
                email=_email(ctx, account_id),
                tested_at=ctx.clock.now(),
                steps=[token],
                error=error,
                duration_ms=token.duration_ms,
            )
            _store(ctx, report, bulk=bulk)
            return report
    else:
        token = None
        credentials = await asyncio.to_thread(open_credentials, ctx, account_id=account_id)
    report = await probe_mailbox(
        credentials,
        send=send_test_mail,
        seams=chosen,
        on_step=on_step,
        now=ctx.clock.now,
        provider_key=_provider(ctx, account_id),
    )
    if token is not None:
        report.steps.insert(0, token)
    _store(ctx, report, bulk=bulk)
    if chosen.deliverability and report.deliverability is not None:
        # The domain's shared result (the account page's summary), unless fresh enough.
        with contextlib.suppress(FluenzrError):
            await check_and_store(
                ctx, report.deliverability.domain, lookup=chosen.lookup, max_age=FRESH
            )
    return report


FRESH = timedelta(minutes=10)  # a domain checked this recently is not checked again by Probar


def _provider(ctx: AppContext, account_id: int) -> str | None:
    with ctx.sessions() as session:
        account = session.get(Account, account_id)
        return account.provider if account is not None else None


def _is_oauth(ctx: AppContext, account_id: int) -> bool:
    with ctx.sessions() as session:
        account = session.get(Account, account_id)
        return bool(account is not None and account.is_oauth)


def _email(ctx: AppContext, account_id: int) -> str:
    with ctx.sessions() as session:
        account = session.get(Account, account_id)
        return account.email if account is not None else ""


def _store(ctx: AppContext, report: ProbarReport, *, bulk: bool = False) -> None:
    """Remember the outcome on the account and in the event log (codes and details, no secret)."""
    data = report.to_dict()
    with transaction(ctx.sessions) as session:
        account = session.get(Account, report.account_id)
        if account is None:  # removed while the test ran
            return
        account.last_test_at = report.tested_at
        account.last_test_ok = report.ok
        account.last_test_result = json.dumps(data, ensure_ascii=False)
        _update_status(account, report)
        event: dict[str, Any] = {
            "ok": report.ok,
            "code": report.error.code if report.error else None,
            "steps": [{"name": s.name, "status": s.status.value} for s in report.steps],
        }
        if bulk:
            event["bulk"] = True
        record_event(
            session,
            workspace_id=account.workspace_id,
            type="account_tested",
            account_id=account.id,
            data=event,
        )


def _update_status(account: Account, report: ProbarReport) -> None:
    """A failed test marks an active account ``error``; a passing one clears that mark.

    A paused account stays paused: pausing is the sending system's decision, with its own reason.
    A temporary 4xx limit says nothing about the settings: the status is left as it was.
    """
    if report.error is not None and temporary_throttle(report.error.to_dict()):
        return
    if report.error is not None and account.status in ("active", "error"):
        account.status = "error"
        account.status_reason = report.error.code
        account.last_error = json.dumps(report.error_dict(), ensure_ascii=False)
    elif report.error is None and account.status == "error":
        account.status = "active"
        account.status_reason = None
        account.last_error = None
