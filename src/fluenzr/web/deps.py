"""Dependencies of the pages, as ``Annotated`` aliases (the API's are in ``fluenzr.http.deps``).

A page handler says what it needs — ``who: PageUser``, ``form: CsrfForm`` — and never looks up
the session or checks a token itself. A browser that is not signed in is sent to the login
page (or to first-run setup): ``PageUser`` raises ``LoginRequired`` and the handler installed
by ``install`` answers with that redirect. Forms carry the CSRF token in the ``csrf`` field; a
missing or wrong token is ``CsrfError`` (403 page).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from starlette.datastructures import FormData

from fluenzr.http.deps import SESSION_COOKIE, get_ctx
from fluenzr.http.uploads import memory_form
from fluenzr.services import notifications, replies, users
from fluenzr.services.tokens import Principal
from fluenzr.web.drafts import PasswordDrafts
from fluenzr.web.render import render
from fluenzr.web.session import (
    PRE_CSRF_COOKIE,
    check_csrf,
    lang_of,
    login_redirect,
    principal,
)


class LoginRequired(Exception):
    """No signed-in session: the page answers with a redirect to login (or setup)."""


async def _login_required(request: Request, _exc: Exception) -> Response:
    return login_redirect(request)


def install(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.state.password_drafts = PasswordDrafts()


def password_drafts(request: Request) -> PasswordDrafts:
    drafts: PasswordDrafts = request.app.state.password_drafts
    return drafts


Drafts = Annotated[PasswordDrafts, Depends(password_drafts)]


def optional_user(request: Request) -> Principal | None:
    # A sync dependency: FastAPI runs it in the thread pool (the lookup reads the database).
    return principal(request)


MaybeUser = Annotated[Principal | None, Depends(optional_user)]


def page_user(who: MaybeUser) -> Principal:
    if who is None:
        raise LoginRequired()
    return who


PageUser = Annotated[Principal, Depends(page_user)]


def page_workspace(who: PageUser) -> int:
    return who.workspace_id


PageWorkspace = Annotated[int, Depends(page_workspace)]


async def csrf_form(request: Request, who: PageUser) -> FormData:
    """The posted form of a signed-in page, once its CSRF token matched the session's."""
    form = await request.form()
    check_csrf(form.get("csrf"), who.csrf_token)
    return form


CsrfForm = Annotated[FormData, Depends(csrf_form)]


async def pre_csrf_form(request: Request) -> FormData:
    """The login and setup forms (no session yet): the double-submit cookie's token."""
    form = await request.form()
    check_csrf(form.get("csrf"), request.cookies.get(PRE_CSRF_COOKIE))
    return form


PreCsrfForm = Annotated[FormData, Depends(pre_csrf_form)]


async def any_csrf_form(request: Request, who: MaybeUser) -> FormData:
    """A form open to both (the invitation link): the session's token when signed in, else
    the double-submit cookie's."""
    form = await request.form()
    expected = who.csrf_token if who is not None else request.cookies.get(PRE_CSRF_COOKIE)
    check_csrf(form.get("csrf"), expected)
    return form


AnyCsrfForm = Annotated[FormData, Depends(any_csrf_form)]


async def upload_csrf_form(request: Request, who: PageUser) -> FormData:
    """A signed-in form with a file (the accounts CSV): parsed in memory, never spooled to disk."""
    form = await memory_form(request)
    check_csrf(form.get("csrf"), who.csrf_token)
    return form


UploadCsrfForm = Annotated[FormData, Depends(upload_csrf_form)]

# Every POST page route depends on one of these (tests/unit/test_web_routes.py checks it).
CSRF_CHECKS = (csrf_form, pre_csrf_form, any_csrf_form, upload_csrf_form)


def session_cookie(request: Request) -> str:
    """The browser's session cookie (to end or re-point that session; "" when none)."""
    return request.cookies.get(SESSION_COOKIE, "")


SessionCookie = Annotated[str, Depends(session_cookie)]


def _bell(request: Request, who: Principal) -> dict[str, int]:
    """The header's counts: unread notifications (the bell) and unread replies."""
    ctx = get_ctx(request)
    return {
        "notifications": notifications.unread_count(
            ctx, workspace_id=who.workspace_id, user_id=who.user_id
        ),
        "replies": replies.unread_count(ctx, workspace_id=who.workspace_id),
    }


def page(request: Request, who: Principal, name: str, *, status: int = 200, **ctx: Any) -> Response:
    """A signed-in page: the user, their CSRF token and workspaces (the switcher) go in."""
    return render(
        request,
        name,
        lang=lang_of(request),
        status=status,
        user=who,
        csrf=who.csrf_token,
        workspaces=users.workspaces_of(get_ctx(request), who.user_id),
        bell=_bell(request, who),
        **ctx,
    )


__all__ = [
    "CSRF_CHECKS",
    "AnyCsrfForm",
    "CsrfForm",
    "Drafts",
    "LoginRequired",
    "MaybeUser",
    "PageUser",
    "PageWorkspace",
    "PreCsrfForm",
    "SessionCookie",
    "install",
    "page",
]
