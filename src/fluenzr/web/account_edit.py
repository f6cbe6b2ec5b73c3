"""Editing an account's connection (the "+ SMTP" form again): e.g. a new app password after
"Autenticación fallida". An empty password field keeps the stored one."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.core.secret import Secret
from fluenzr.errors import FluenzrError, NotFoundError
from fluenzr.http.deps import get_ctx
from fluenzr.services import accounts
from fluenzr.services.account_views import AccountView
from fluenzr.web import forms
from fluenzr.web.account_pages import _form_page, _guarded, _id, _who
from fluenzr.web.session import login_redirect

router = APIRouter(include_in_schema=False)
_CONNECTION = (
    "email",
    "display_name",
    "smtp_host",
    "smtp_port",
    "username",
    "smtp_security",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "smtp_ca_pem",
    "imap_ca_pem",
    "pin_sha256",
    "smtp_auth",
)


def values_from(view: AccountView) -> dict[str, str]:
    data = view.model_dump()
    data["username"] = view.smtp_username
    data["preset"] = view.provider if view.provider != "custom" else ""
    data["no_auth"] = "" if view.smtp_auth else "1"
    return {name: "" if data.get(name) is None else str(data[name]) for name in data}


def changes_from(form: Any) -> dict[str, Any]:
    """Every connection field as typed; blank optional fields clear, blank passwords keep."""
    typed = forms.to_input(form)
    changes: dict[str, Any] = {}
    for name in _CONNECTION:
        value = getattr(typed, name)
        blankable = name.startswith(("imap_", "pin_")) or name.endswith("_ca_pem")
        changes[name] = "" if value is None and blankable else value
    changes = {k: v for k, v in changes.items() if v is not None}
    if typed.preset:
        changes["preset"] = typed.preset
    for secret in ("password", "imap_password"):
        value = getattr(typed, secret)
        if isinstance(value, Secret) and value:
            changes[secret] = value
    if typed.force:
        changes["force"] = True
    return changes


@router.get("/accounts/{account_id}/edit")
async def edit_form(request: Request, account_id: int) -> Response:
    who = await _who(request)
    if who is None:
        return login_redirect(request)

    def build() -> Response:
        view = accounts.get_account(
            get_ctx(request), workspace_id=who.workspace_id, account_id=_id(account_id)
        )
        return _form_page(request, who, values_from(view), account=view)

    return await run_in_threadpool(build)


@router.post("/accounts/{account_id}/edit")
async def edit_submit(request: Request, account_id: int) -> Response:
    who, form = await _guarded(request)
    if who is None:
        return login_redirect(request)
    account_id = _id(account_id)
    ctx = get_ctx(request)
    view = await run_in_threadpool(
        functools.partial(
            accounts.get_account, ctx, workspace_id=who.workspace_id, account_id=account_id
        )
    )
    try:
        changes = changes_from(form)
        await run_in_threadpool(
            functools.partial(
                accounts.update_account,
                ctx,
                workspace_id=who.workspace_id,
                account_id=account_id,
                changes=changes,
            )
        )
    except FluenzrError as error:
        if isinstance(error, NotFoundError):
            raise
        failed = error
        values = forms.values_of(form)
        return await run_in_threadpool(
            functools.partial(_form_page, request, who, values, error=failed, account=view)
        )
    return RedirectResponse(f"/accounts/{account_id}", status_code=303)
