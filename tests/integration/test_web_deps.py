"""The pages' boundary (web.deps) over real HTTP: a POST without its CSRF token is refused with
nothing done, a browser that is not signed in is sent to the login page, for the handlers that
used to check both inline (setup, login, logout, workspace switch, API tokens, invitations)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fluenzr.core.secret import Secret
from fluenzr.services import invitations, tokens, users
from fluenzr.services.context import AppContext
from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_of, serve, set_up_admin_over_http

SIGNED_IN_POSTS = [
    "/logout",
    "/workspace",
    "/settings/tokens",
    "/settings/tokens/1/revoke",
    "/settings/workspace/invitations",
    "/accounts/new",
    "/accounts/1/edit",
    "/accounts/1/settings",
    "/accounts/1/pause",
]


@pytest.fixture
def base_url(app: AppContext) -> Iterator[str]:
    with serve(app, sending=False) as url:
        yield url


def _signed_in(http: httpx.Client) -> str:
    set_up_admin_over_http(http)
    return csrf_of(http.get("/settings/tokens").text)


def test_not_signed_in_goes_to_login(base_url: str, app: AppContext) -> None:
    users.setup_admin(app, email=ADMIN_EMAIL, name="A", password=Secret(ADMIN_PASSWORD))
    with httpx.Client(base_url=base_url) as http:
        for path in ("/", "/settings/tokens", "/accounts", "/settings/workspace"):
            reply = http.get(path)
            assert reply.status_code == 303 and reply.headers["location"] == "/login", path
        for path in SIGNED_IN_POSTS:
            reply = http.post(path, data={"csrf": "anything"})
            assert reply.status_code == 303 and reply.headers["location"] == "/login", path


def test_first_run_sends_to_setup(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as http:
        reply = http.post("/settings/tokens", data={"csrf": "x", "name": "n"})
        assert reply.status_code == 303 and reply.headers["location"] == "/setup"


@pytest.mark.parametrize("sent", [None, "", "forged-token"])
def test_signed_in_post_without_its_token_is_refused(
    base_url: str, app: AppContext, sent: str | None
) -> None:
    with httpx.Client(base_url=base_url) as http:
        good = _signed_in(http)
        data = {"name": "deploy", "workspace_id": "1", "email": "x@example.com"}
        if sent is not None:
            data["csrf"] = sent
        for path in SIGNED_IN_POSTS:
            reply = http.post(path, data=data)
            assert reply.status_code == 403, path
        # Nothing was done: no token created, still signed in (logout refused).
        assert tokens.list_tokens(app, user_id=users.user_by_email(app, ADMIN_EMAIL).id) == []
        assert http.get("/settings/tokens").status_code == 200
        # The same requests with the token work.
        created = http.post("/settings/tokens", data={"csrf": good, "name": "deploy"})
        assert created.status_code == 200
        out = http.post("/logout", data={"csrf": good})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert http.get("/settings/tokens").headers["location"] == "/login"


def test_login_and_setup_need_the_double_submit_token(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as http:
        assert (
            http.post("/setup", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).status_code
            == 403
        )
        _signed_in(http)
    with httpx.Client(base_url=base_url) as http:
        form = http.get("/login")
        refused = http.post(
            "/login", data={"csrf": "wrong", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert refused.status_code == 403 and "fluenzr_session" not in refused.cookies
        ok = http.post(
            "/login",
            data={"csrf": csrf_of(form.text), "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/accounts"


def test_invitation_checks_the_token_that_applies(base_url: str, app: AppContext) -> None:
    with httpx.Client(base_url=base_url) as owner:
        _signed_in(owner)
    admin = users.user_by_email(app, ADMIN_EMAIL)
    workspace = users.workspaces_of(app, admin.id)[0].id
    link = invitations.invite(
        app, actor_id=admin.id, workspace_id=workspace, email="new@example.com", role="member"
    )
    with httpx.Client(base_url=base_url) as stranger:
        page = stranger.get(f"/invitations/{link.token}")
        assert page.status_code == 200
        forged = stranger.post(
            f"/invitations/{link.token}", data={"csrf": "forged", "password": "a long password 1"}
        )
        assert forged.status_code == 403
        assert invitations.list_pending(app, actor_id=admin.id, workspace_id=workspace)
        joined = stranger.post(
            f"/invitations/{link.token}",
            data={"csrf": csrf_of(page.text), "password": "a long password 1", "name": "N"},
        )
        assert joined.status_code == 303 and joined.headers["location"] == "/accounts"
        assert not invitations.list_pending(app, actor_id=admin.id, workspace_id=workspace)
