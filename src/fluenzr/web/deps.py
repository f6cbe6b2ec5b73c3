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

from fluenzr.http.deps import get_ctx
from fluenzr.services import users
from fluenzr.services.tokens import Principal
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
        **ctx,
    )


__all__ = [
    "CsrfForm",
    "LoginRequired",
    "MaybeUser",
    "PageUser",
    "PageWorkspace",
    "PreCsrfForm",
    "install",
    "page",
]
