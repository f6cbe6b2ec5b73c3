"""Probar (the "Probar" button): test an account end to end, store the outcome, record an event.

The CLI (`fluenzr accounts test`), the API and the web UI's job runner all call
:func:`run_probar`. ``on_step`` is called with each :class:`StepResult` as the step finishes, so a
UI can stream progress. Reports and steps offer ``model_dump(mode="json")`` like the API models.
"""

from __future__ import annotations

import json
from typing import Any

from fluenzr.diagnose.probar import ProbarSeams, default_seams, probe_mailbox
from fluenzr.diagnose.report import ProbarReport
from fluenzr.diagnose.runner import ProgressCallback
from fluenzr.services.accounts import get_account, open_credentials
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from fluenzr.storage.models import Account

__all__ = ["ProbarReport", "ProbarSeams", "run_probar"]


async def run_probar(
    ctx: AppContext,
    *,
    account_id: int,
    workspace_id: int | None = None,
    send_test_mail: bool = True,
    on_step: ProgressCallback | None = None,
    seams: ProbarSeams | None = None,
) -> ProbarReport:
    """Test one account (of ``workspace_id`` when given: else ``NotFoundError``) and store it.

    Runs as the sending system: it opens the account's credentials.
    """
    if workspace_id is not None:
        get_account(ctx, workspace_id=workspace_id, account_id=account_id)
    credentials = open_credentials(ctx, account_id=account_id)
    report = await probe_mailbox(
        credentials,
        send=send_test_mail,
        seams=seams or default_seams(ctx.settings),
        on_step=on_step,
        now=ctx.clock.now,
    )
    _store(ctx, report)
    return report


def _store(ctx: AppContext, report: ProbarReport) -> None:
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
    """
    if report.error is not None and account.status in ("active", "error"):
        account.status = "error"
        account.status_reason = report.error.code
        account.last_error = json.dumps(report.error_dict(), ensure_ascii=False)
    elif report.error is None and account.status == "error":
        account.status = "active"
        account.status_reason = None
        account.last_error = None
