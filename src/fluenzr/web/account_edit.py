"""Editing an account (the "+ SMTP" form again): e.g. a new app password after "Autenticación
fallida". An empty password field keeps the stored one; a rejected form keeps what was typed."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from fluenzr.core.secret import Secret
from fluenzr.errors import FluenzrError, NotFoundError
from fluenzr.http.deps import get_ctx
from fluenzr.services import accounts
from fluenzr.services.account_fields import FIELDS
from fluenzr.services.account_views import AccountView
from fluenzr.web import account_input, forms
from fluenzr.web.account_pages import _form_page, _id, rejected
from fluenzr.web.deps import CsrfForm, Drafts, PageUser

router = APIRouter(include_in_schema=False)
# What the edit form changes: every shown field but the preset picker and "force" (options).
_EDITED = tuple(f for f in FIELDS if not f.secret and f.name not in ("preset", "force"))


def values_from(view: AccountView) -> dict[str, str]:
    data = view.model_dump()
    data["username"] = view.smtp_username
    data["preset"] = view.provider if view.provider != "custom" else ""
    data["no_auth"] = "" if view.smtp_auth else "1"
    data.pop("smtp_auth", None)
    return {name: "" if data.get(name) is None else str(data[name]) for name in data}


def changes_from(values: Mapping[str, str], kept: Mapping[str, Secret]) -> dict[str, Any]:
    """Every field as typed; blank clearable fields clear, other blanks and passwords keep."""
    typed = account_input.to_input(values, kept)
    changes: dict[str, Any] = {}
    for spec in _EDITED:
        value = getattr(typed, spec.name)
        if value is None and spec.clearable:
            changes[spec.name] = ""
        elif value is not None:
            changes[spec.name] = value
    if typed.preset:
        changes["preset"] = typed.preset
    changes.update(kept)
    if typed.force:
        changes["force"] = True
    return changes


@router.get("/accounts/{account_id}/edit")
async def edit_form(request: Request, account_id: int, who: PageUser) -> Response:

    def build() -> Response:
        view = accounts.get_account(
            get_ctx(request), workspace_id=who.workspace_id, account_id=_id(account_id)
        )
        return _form_page(request, who, values_from(view), account=view)

    return await run_in_threadpool(build)


@router.post("/accounts/{account_id}/edit")
async def edit_submit(
    request: Request, account_id: int, who: PageUser, form: CsrfForm, drafts: Drafts
) -> Response:
    account_id = _id(account_id)
    ctx = get_ctx(request)
    view = await run_in_threadpool(
        functools.partial(
            accounts.get_account, ctx, workspace_id=who.workspace_id, account_id=account_id
        )
    )
    values = account_input.values_of(form)
    draft = forms.text(form, "draft", 64)
    kept = drafts.take(draft, user_id=who.user_id) | account_input.secrets_of(form)
    stored = account_input.stored_limits(view)
    errors = await run_in_threadpool(
        functools.partial(account_input.problems, values, has_password=True, limits=stored)
    )
    failed: FluenzrError | None = None
    if not errors:
        try:
            changes = changes_from(values, kept)
            after = await run_in_threadpool(
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
            failed = rejected(error, errors)
        else:
            drafts.drop(draft)
            moved = (view.smtp_host, view.imap_host) != (after.smtp_host, after.imap_host)
            cleared = moved and view.pin_sha256 and not after.pin_sha256
            saved = "pin_cleared" if cleared else "connection"
            return RedirectResponse(f"/accounts/{account_id}?saved={saved}", status_code=303)
    draft = drafts.keep(user_id=who.user_id, kept=kept, draft_id=draft)
    return await run_in_threadpool(
        functools.partial(
            _form_page,
            request,
            who,
            values,
            errors=errors,
            error=failed,
            account=view,
            draft=draft,
            kept=frozenset(kept),
        )
    )
