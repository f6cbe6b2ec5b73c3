"""The "Cuentas de Email" table at fleet size: one page of a filtered, sorted list, and bulk
actions on a selection or on the whole filter.

Reads go through the Core query (``services.account_listing``), so 10,000 accounts cost one
page's rows; writes go through the same services as one account's buttons (pausing paths,
``account_removal``, tags). Deleting many accounts asks first, showing how many, and needs that
number typed back. "Probar" on many accounts answers with a confirmation whose form posts to
``POST /accounts/test-bulk`` (repeated ``account_id``, or ``all=1``, or ``tag=T``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ConflictError, FluenzrError, ValidationError
from fluenzr.http.deps import get_ctx
from fluenzr.services import (
    account_filters,
    account_listing,
    account_removal,
    account_status,
    account_tags,
    accounts,
)
from fluenzr.services.account_views import AccountView
from fluenzr.services.tokens import Principal
from fluenzr.storage import account_query
from fluenzr.web import forms
from fluenzr.web.deps import CsrfForm, PageUser, page
from fluenzr.web.render import error_text
from fluenzr.web.session import lang_of

router = APIRouter(include_in_schema=False)

FILTERS = ("q", "status", "provider", "tag", "test", "reason")
PER_PAGE = (25, 50, 100, 200)
ACTIONS = ("test", "pause", "resume", "limits", "tag_add", "tag_remove", "delete")
MAX_BULK = account_tags.MAX_ACCOUNTS
MAX_TEST_IDS = 1_000  # "Probar" by ids beyond this: narrow the filter or use a tag


@dataclass(frozen=True)
class TableRow:
    account: AccountView
    tags: list[str]
    stats: dict[str, Any]
    health: dict[str, Any]


def _values(source: Any, prefix: str = "") -> dict[str, str]:
    """The filter as typed (query string, or the bulk form's ``f_*`` copies)."""
    return {name: str(source.get(prefix + name, "") or "")[:200] for name in FILTERS}


def _filter(values: dict[str, str]) -> account_query.AccountFilter:
    return account_filters.account_filter(
        search=values["q"],
        status=values["status"],
        provider=values["provider"],
        tag=values["tag"],
        test=values["test"],
        reason=values["reason"],
    )


def _int(text: str, default: int) -> int:
    return int(text) if text.isdigit() and len(text) <= 7 else default


def _link(values: dict[str, str], **changes: Any) -> str:
    merged = {**values, **{k: str(v) for k, v in changes.items()}}
    return "/accounts?" + urlencode({k: v for k, v in merged.items() if v})


def _build(
    request: Request,
    who: Principal,
    *,
    query: Mapping[str, str] | None = None,
    error: FluenzrError | None = None,
) -> Response:
    ctx = get_ctx(request)
    q = request.query_params if query is None else query
    values = _values(q)
    values["sort"] = q.get("sort", "id")[:20]
    values["order"] = "desc" if q.get("order") == "desc" else ""
    per_page = _int(q.get("per_page", ""), 50)
    values["per_page"] = str(per_page) if per_page in PER_PAGE and per_page != 50 else ""
    problem = error
    try:
        chosen = _filter(values)
        paging = account_filters.page_request(
            page=_int(q.get("page", "1"), 1),
            per_page=per_page if per_page in PER_PAGE else 50,
            sort=values["sort"],
            descending=values["order"] == "desc",
        )
    except ValidationError as refused:
        problem = problem or refused
        chosen, paging = account_query.AccountFilter(), account_query.PageRequest()
        values = {**dict.fromkeys(values, "")}
    found = account_listing.account_page_dicts(
        ctx.engine,
        workspace_id=who.workspace_id,
        chosen=chosen,
        paging=paging,
        now=ctx.clock.now(),
    )
    rows = [
        TableRow(
            account=AccountView.model_validate(item),
            tags=item["tags"],
            stats=item["stats"],
            health=item["health"],
        )
        for item in found["accounts"]
    ]
    pages = max(1, math.ceil(found["total"] / paging.per_page))
    return page(
        request,
        who,
        "accounts.html",
        status=problem.http_status if problem and error else 200,
        rows=rows,
        total=found["total"],
        page_no=paging.page,
        pages=pages,
        values=values,
        filtered=not chosen.empty,
        options=account_query.distinct_values(ctx.engine, workspace_id=who.workspace_id),
        statuses=account_query.STATUSES,
        outcomes=account_query.TEST_OUTCOMES,
        per_pages=PER_PAGE,
        link=lambda **changes: _link(values, **changes),
        problem=error_text(problem, lang_of(request)) if problem else None,
        **_notices(request, who),
    )


def _notices(request: Request, who: Principal) -> dict[str, Any]:
    q = request.query_params
    key = who.csrf_token or ""
    deleted = q.get("deleted", "")[:320]
    cancelled = q.get("cancelled", "0")[:9]
    if not account_removal.verified(key, deleted, cancelled, q.get("sig", "")):
        deleted, cancelled = "", "0"
    done, count = q.get("done", "")[:20], q.get("n", "0")[:9]
    if done not in ACTIONS or not account_removal.verified(key, done, count, q.get("dsig", "")):
        done, count = "", "0"
    return {
        "deleted": deleted,
        "cancelled": int(cancelled) if cancelled.isdigit() else 0,
        "done": done,
        "done_count": int(count) if count.isdigit() else 0,
    }


@router.get("/accounts")
async def accounts_list(request: Request, who: PageUser) -> Response:
    return await run_in_threadpool(_build, request, who)


# -- bulk actions -------------------------------------------------------------------------------


def _targets(request: Request, who: Principal, form: FormData) -> list[int]:
    """The accounts a bulk action acts on: the whole filter (``scope=filter``) or the ticked
    rows, only ever this workspace's."""
    engine = get_ctx(request).engine
    if forms.text(form, "scope", 10) == "filter":
        chosen = _filter(_values(form, "f_"))
        return account_query.matching_ids(engine, workspace_id=who.workspace_id, chosen=chosen)
    picked = [str(v) for v in form.getlist("account_id")[: MAX_BULK + 1]]
    ids = {int(v) for v in picked if v.isdigit() and len(v) <= 10}
    if len(ids) > MAX_BULK:
        raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "account_id"})
    return account_query.owned_ids(engine, workspace_id=who.workspace_id, ids=ids)


def _limit(form: FormData, name: str) -> int | None:
    text = forms.text(form, name, 7).strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": name, "value": text})
    return int(text)


def _apply(request: Request, who: Principal, action: str, ids: list[int], form: FormData) -> int:
    """Run ``action`` on each account through its one-account service; returns how many
    changed (an account already in the asked state is skipped, not an error)."""
    ctx, ws = get_ctx(request), who.workspace_id
    if action in ("tag_add", "tag_remove"):
        tag = forms.text(form, "tag", 80)
        change = account_tags.add_tag if action == "tag_add" else account_tags.remove_tag
        return change(ctx.engine, workspace_id=ws, account_ids=ids, tag=tag)
    if action == "limits":
        changes = {
            name: value
            for name in ("daily_limit", "hourly_limit")
            if (value := _limit(form, name)) is not None
        }
        if not changes:
            raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "daily_limit"})
        for account_id in ids:
            accounts.update_account(ctx, workspace_id=ws, account_id=account_id, changes=changes)
        return len(ids)
    statuses = account_query.statuses_of(ctx.engine, workspace_id=ws, ids=ids)
    done = 0
    for account_id in ids:
        if action == "pause" and statuses.get(account_id) != "paused":
            account_status.pause(ctx, workspace_id=ws, account_id=account_id)
            done += 1
        elif action == "resume" and statuses.get(account_id) == "paused":
            try:
                account_status.resume(ctx, workspace_id=ws, account_id=account_id)
            except ConflictError:  # resumed meanwhile (its pause lifted by itself)
                continue
            done += 1
    return done


def _delete(request: Request, who: Principal, ids: list[int]) -> int:
    """Remove each account; the typed count stood for typing every address."""
    ctx = get_ctx(request)
    removed = 0
    for account_id in ids:
        view = accounts.get_account(ctx, workspace_id=who.workspace_id, account_id=account_id)
        account_removal.remove(
            ctx, workspace_id=who.workspace_id, account_id=account_id, typed_email=view.email
        )
        removed += 1
    return removed


def _confirm(
    request: Request,
    who: Principal,
    form: FormData,
    action: str,
    ids: list[int],
    *,
    error: FluenzrError | None = None,
) -> Response:
    """The step before "delete" (type the count) or "Probar" (posts to /accounts/test-bulk)."""
    values = _values(form, "f_")
    scope = forms.text(form, "scope", 10)
    test_fields: list[tuple[str, str]] = []
    if action == "test":
        chosen = _filter(values)
        only_tag = chosen.tag and chosen == account_query.AccountFilter(tag=chosen.tag)
        if scope == "filter" and chosen.empty:
            test_fields = [("all", "1")]
        elif scope == "filter" and only_tag:
            test_fields = [("tag", chosen.tag)]
        elif len(ids) > MAX_TEST_IDS:
            error = error or ValidationError(
                ErrorCode.INVALID_INPUT, params={"field": "account_id", "max": MAX_TEST_IDS}
            )
        else:
            test_fields = [("account_id", str(i)) for i in ids]
    return page(
        request,
        who,
        "accounts_bulk.html",
        status=error.http_status if error else 200,
        action=action,
        count=len(ids),
        ids=ids if scope != "filter" else [],
        scope=scope,
        values=values,
        test_fields=test_fields,
        back=_link(values),
        problem=error_text(error, lang_of(request)) if error else None,
    )


def _done(who: Principal, values: dict[str, str], action: str, count: int) -> Response:
    sig = account_removal.sign(who.csrf_token or "", action, count)
    target = _link(values, done=action, n=count, dsig=sig)
    return RedirectResponse(target, status_code=303)


@router.post("/accounts/bulk")
async def accounts_bulk(request: Request, who: PageUser, form: CsrfForm) -> Response:
    action = forms.text(form, "action", 20)
    if action not in ACTIONS:
        raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "action"})

    def run() -> Response:
        values = _values(form, "f_")
        try:
            ids = _targets(request, who, form)
            if not ids:
                raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "account_id"})
            if action == "test":
                return _confirm(request, who, form, action, ids)
            if action == "delete":
                typed = forms.text(form, "confirm_count", 9).strip()
                if not typed:
                    return _confirm(request, who, form, action, ids)
                if typed != str(len(ids)):
                    mismatch = ValidationError(
                        ErrorCode.BULK_CONFIRMATION_MISMATCH,
                        params={"field": "confirm_count", "count": len(ids)},
                    )
                    return _confirm(request, who, form, action, ids, error=mismatch)
                return _done(who, values, action, _delete(request, who, ids))
            return _done(who, values, action, _apply(request, who, action, ids, form))
        except ValidationError as refused:
            return _refused(request, who, values, refused)

    return await run_in_threadpool(run)


def _refused(
    request: Request, who: Principal, values: dict[str, str], error: FluenzrError
) -> Response:
    """The table again (same filter), the error above it."""
    return _build(request, who, query=values, error=error)
