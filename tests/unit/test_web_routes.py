"""Every page that changes something checks CSRF through a dependency (web.deps), never inline:
a POST route without one of ``web.deps.CSRF_CHECKS`` in its dependency tree fails here."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter

from fluenzr.web import deps, pages


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _routes(router: APIRouter) -> Iterator[APIRoute]:
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI >= 0.165 includes lazily
        if isinstance(included, APIRouter):
            yield from _routes(included)


def _page_routes() -> list[APIRoute]:
    return list(_routes(pages.router))


def test_every_post_page_depends_on_a_csrf_check() -> None:
    posts = [r for r in _page_routes() if "POST" in r.methods]
    assert len(posts) >= 15  # all page modules are included in pages.router
    missing = [
        r.path for r in posts if not any(call in deps.CSRF_CHECKS for call in _calls(r.dependant))
    ]
    assert missing == []


def test_no_page_handler_reads_the_session_or_checks_csrf_itself() -> None:
    for route in _page_routes():
        source = inspect.getsource(route.endpoint)
        for inline in (
            "check_csrf",
            "principal(",
            "SESSION_COOKIE",
            "request.cookies",
            "request.form()",
        ):
            assert inline not in source, f"{route.path}: {inline} inline"


def test_pages_other_than_login_and_setup_need_a_user() -> None:
    open_pages = {"/", "/setup", "/login", "/lang/{code}", "/invitations/{token}"}
    for route in _page_routes():
        if route.path in open_pages:
            continue
        calls = set(_calls(route.dependant))
        assert deps.page_user in calls, route.path
