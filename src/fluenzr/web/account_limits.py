"""The account page's settings form: sending limits and the sending window.

A rejected form comes back with what was typed and every error next to its field (the
cross-field rules too: hourly ≤ daily, min ≤ max interval)."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.errors import FluenzrError, NotFoundError
from fluenzr.http.deps import get_ctx
from fluenzr.services import account_fields, accounts, send_window
from fluenzr.web import account_input, forms
from fluenzr.web.account_pages import _account_page, _id, rejected
from fluenzr.web.deps import CsrfForm, PageUser

router = APIRouter(include_in_schema=False)
LIMITS = account_fields.in_group("limits")


def _posted_window(form: Any) -> dict[str, Any]:
    """The window controls as posted (shown again when the form is rejected)."""
    days = [int(d) for d in form.getlist("days") if isinstance(d, str) and d.isdigit()][:7]
    return {
        "on": form.get("window") == "on",
        "days": days,
        "start": forms.text(form, "start", 8) or "09:00",
        "end": forms.text(form, "end", 8) or "18:00",
    }


@router.post("/accounts/{account_id}/settings")
async def account_settings(
    request: Request, account_id: int, who: PageUser, form: CsrfForm
) -> Response:
    account_id = _id(account_id)
    ctx = get_ctx(request)
    view = await run_in_threadpool(
        functools.partial(
            accounts.get_account, ctx, workspace_id=who.workspace_id, account_id=account_id
        )
    )
    typed = account_input.values_of(form)
    values = {spec.input_name: typed[spec.input_name] for spec in LIMITS}
    stored = account_input.stored_limits(view)
    errors = account_input.problems(values, has_password=True, limits=stored, connection=False)
    failed: FluenzrError | None = None
    window = None
    try:
        window = forms.window_of(form)
        if window is not None:
            send_window.validate(window["days"], window["start"], window["end"])
    except FluenzrError as error:
        failed = error
    if not errors and failed is None:
        fields, _ = account_input.typed(values)
        changes = {spec.name: fields[spec.name] for spec in LIMITS if fields[spec.name] is not None}

        def save() -> None:
            accounts.update_account(
                ctx, workspace_id=who.workspace_id, account_id=account_id, changes=changes
            )
            send_window.set_window(
                ctx,
                workspace_id=who.workspace_id,
                account_id=account_id,
                days=window["days"] if window else None,
                start=window["start"] if window else "00:00",
                end=window["end"] if window else "23:59",
            )

        try:
            await run_in_threadpool(save)
        except FluenzrError as error:
            if isinstance(error, NotFoundError):
                raise
            failed = rejected(error, errors)
        else:
            return RedirectResponse(f"/accounts/{account_id}?saved=settings", status_code=303)
    return await run_in_threadpool(
        functools.partial(
            _account_page,
            request,
            who,
            account_id,
            error=failed,
            errors=errors,
            values=values,
            window=_posted_window(form),
        )
    )
