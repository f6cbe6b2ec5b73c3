"""Invitations and choosing a workspace, over real HTTP: inviting attaches nobody and answers the
same for a known and an unknown email; a link is accepted once, by the invited email only, or
creates the invitee's user with the password they choose; a user in several workspaces picks
one (header switcher, ``X-Workspace``), never "the lowest id"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluenzr.services import users
from fluenzr.services.context import AppContext
from tests.e2e.server import ADMIN_PASSWORD, Caller, admin, csrf_of, other_user, serve
from tests.support.cli import Cli

INVITE = "/api/v1/workspaces/current/invitations"


@dataclass
class ManualClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock(app_any_db: AppContext) -> ManualClock:
    manual = ManualClock(datetime.now(UTC))
    app_any_db.clock = manual  # type: ignore[assignment]
    return manual


@pytest.fixture
def base_url(app_any_db: AppContext, clock: ManualClock) -> Iterator[str]:
    with serve(app_any_db, sending=False) as url:
        yield url


@pytest.fixture
def owner(app_any_db: AppContext) -> Caller:
    return admin(app_any_db)


def _api(url: str, caller: Caller) -> httpx.Client:
    headers = {"Accept-Language": "en", **caller.headers}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


@contextmanager
def _web_login(url: str, email: str, password: str = ADMIN_PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as http:
        page = http.get("/login")
        reply = http.post(
            "/login", data={"csrf": csrf_of(page.text), "email": email, "password": password}
        )
        assert reply.status_code == 303, reply.text
        yield http


def _members(http: httpx.Client) -> list[str]:
    return [m["email"] for m in http.get("/api/v1/workspace/members").json()]


def _shape(body: dict[str, Any]) -> dict[str, Any]:
    """The response without what necessarily differs between two invitations."""
    return {k: v for k, v in body.items() if k not in ("id", "email", "token", "url")}


def test_invite_attaches_nobody_and_reveals_nothing(
    base_url: str, app_any_db: AppContext, owner: Caller
) -> None:
    bob = other_user(app_any_db, "bob@example.com")
    with _api(base_url, owner) as http:
        known = http.post(INVITE, json={"email": "bob@example.com"})
        unknown = http.post(INVITE, json={"email": "nobody@example.com"})
        assert known.status_code == unknown.status_code == 201
        assert _shape(known.json()) == _shape(unknown.json())
        assert set(known.headers) == set(unknown.headers)
        assert _members(http) == [owner.email]  # bob was not attached
        pending = [i["email"] for i in http.get(INVITE).json()]
        assert pending == ["bob@example.com", "nobody@example.com"]
        assert "token" not in http.get(INVITE).text
    # Bob, who has an account, is still not in the owner's workspace.
    with _api(base_url, bob) as http:
        asked = http.get("/api/v1/accounts", headers={"X-Workspace": str(owner.workspace_id)})
        assert asked.status_code == 404


def test_accept_logged_in_once_and_only_as_the_invited_email(
    base_url: str, app_any_db: AppContext, owner: Caller
) -> None:
    bob = other_user(app_any_db, "bob@example.com")
    carol = other_user(app_any_db, "carol@example.com")
    with _api(base_url, owner) as http:
        token = http.post(INVITE, json={"email": "bob@example.com"}).json()["token"]
    with _api(base_url, carol) as http:
        wrong = http.post("/api/v1/invitations/accept", json={"token": token})
        assert wrong.status_code == 403 and wrong.json()["code"] == "invitation_other_user"
    with _api(base_url, bob) as http:
        accepted = http.post("/api/v1/invitations/accept", json={"token": token})
        assert accepted.status_code == 200 and accepted.json() == {
            "workspace_id": owner.workspace_id
        }
        reused = http.post("/api/v1/invitations/accept", json={"token": token})
        assert reused.status_code == 404 and reused.json()["code"] == "invitation_invalid"
        forged = http.post("/api/v1/invitations/accept", json={"token": token[:-2] + "xx"})
        assert forged.status_code == 404 and forged.json()["code"] == "invitation_invalid"
    with _api(base_url, owner) as http:
        assert _members(http) == [owner.email, "bob@example.com"]
        assert "carol@example.com" not in _members(http)


def test_accept_in_the_browser_as_the_invited_user(
    base_url: str, app_any_db: AppContext, owner: Caller
) -> None:
    other_user(app_any_db, "bob@example.com")
    other_user(app_any_db, "carol@example.com")
    with _api(base_url, owner) as http:
        link = http.post(INVITE, json={"email": "bob@example.com"}).json()["url"]
    path = "/" + link.split("/", 3)[3]
    with _web_login(base_url, "carol@example.com") as carol:
        page = carol.get(path)
        assert page.status_code == 200 and "bob@example.com" in page.text
        refused = carol.post(path, data={"csrf": csrf_of(page.text), "action": "accept"})
        assert refused.status_code == 403
    with _web_login(base_url, "bob@example.com") as bob:
        page = bob.get(path)
        assert page.headers["referrer-policy"] == "no-referrer"
        accepted = bob.post(path, data={"csrf": csrf_of(page.text), "action": "accept"})
        assert accepted.status_code == 303
        # The session now acts in the workspace just joined.
        assert bob.get("/api/v1/me").json()["workspace_id"] == owner.workspace_id
        assert bob.get(path).status_code == 404  # used


def test_accept_by_setting_a_password(base_url: str, app_any_db: AppContext, owner: Caller) -> None:
    other_user(app_any_db, "bob@example.com")
    with _api(base_url, owner) as http:
        link = http.post(INVITE, json={"email": "new@example.com"}).json()["url"]
        bob_link = http.post(INVITE, json={"email": "bob@example.com"}).json()["url"]
    path = "/" + link.split("/", 3)[3]
    with httpx.Client(base_url=base_url, timeout=30) as http:
        page = http.get(path)
        assert page.status_code == 200 and 'name="password"' in page.text
        short = http.post(
            path, data={"csrf": csrf_of(page.text), "action": "register", "password": "short"}
        )
        assert short.status_code == 422
        made = http.post(
            path,
            data={
                "csrf": csrf_of(page.text),
                "action": "register",
                "password": "my-own-password-1",
                "name": "New",
            },
        )
        assert made.status_code == 303 and made.headers["location"] == "/accounts"
        me = http.get("/api/v1/me").json()
        assert me["email"] == "new@example.com" and me["workspace_id"] == owner.workspace_id
    # An email that already has an account cannot be given a password through a link.
    bob_path = "/" + bob_link.split("/", 3)[3]
    with httpx.Client(base_url=base_url, timeout=30) as http:
        page = http.get(bob_path)
        taken = http.post(
            bob_path,
            data={"csrf": csrf_of(page.text), "action": "register", "password": "takeover-pass-1"},
        )
        assert taken.status_code == 409
    with _web_login(base_url, "bob@example.com"):
        pass  # bob's own password still works
    with _web_login(base_url, "new@example.com", "my-own-password-1") as again:
        assert again.get(path).status_code == 404  # used once


def test_expired_revoked_and_replaced_links(
    base_url: str, app_any_db: AppContext, owner: Caller, clock: ManualClock
) -> None:
    bob = other_user(app_any_db, "bob@example.com")
    with _api(base_url, owner) as http:
        first = http.post(INVITE, json={"email": "bob@example.com"}).json()
        second = http.post(INVITE, json={"email": "bob@example.com"}).json()
        revoked = http.post(INVITE, json={"email": "x@example.com"}).json()
        assert http.delete(f"{INVITE}/{revoked['id']}").status_code == 204
        assert http.delete(f"{INVITE}/{revoked['id']}").status_code == 404
    with _api(base_url, bob) as http:
        replaced = http.post("/api/v1/invitations/accept", json={"token": first["token"]})
        assert replaced.status_code == 404
        clock.at += timedelta(days=7, seconds=1)
        expired = http.post("/api/v1/invitations/accept", json={"token": second["token"]})
        assert expired.status_code == 404 and expired.json()["code"] == "invitation_invalid"
    with _api(base_url, owner) as http:
        assert http.get(INVITE).json() == []
        assert _members(http) == [owner.email]


def test_member_add_form_no_longer_creates_users(base_url: str, owner: Caller) -> None:
    with _api(base_url, owner) as http:
        old = http.post(
            "/api/v1/workspace/members", json={"email": "x@example.com", "password": "p" * 12}
        )
        assert old.status_code == 405
        extra = http.post(INVITE, json={"email": "x@example.com", "password": "p" * 12})
        assert extra.status_code == 422  # no password for someone else


def test_pick_the_workspace_never_the_lowest_id(
    base_url: str, app_any_db: AppContext, owner: Caller
) -> None:
    bob = other_user(app_any_db, "bob@example.com")  # his own workspace, a higher id
    carol = other_user(app_any_db, "carol@example.com")
    with _api(base_url, owner) as http:
        token = http.post(INVITE, json={"email": "bob@example.com"}).json()["token"]
    with _api(base_url, bob) as http:
        assert http.post("/api/v1/invitations/accept", json={"token": token}).status_code == 200
        # A token is bound to its workspace: X-Workspace cannot move it.
        moved = http.get("/api/v1/me", headers={"X-Workspace": str(owner.workspace_id)})
        assert moved.status_code == 404
    assert owner.workspace_id < bob.workspace_id
    with _web_login(base_url, "bob@example.com") as web:
        page = web.get("/accounts")
        assert 'name="workspace_id"' in page.text  # the header switcher
        csrf = csrf_of(page.text)
        switched = web.post("/workspace", data={"csrf": csrf, "workspace_id": bob.workspace_id})
        assert switched.status_code == 303
        assert web.get("/api/v1/me").json()["workspace_id"] == bob.workspace_id
        # X-Workspace picks another of bob's workspaces for one request...
        one = web.get("/api/v1/me", headers={"X-Workspace": str(owner.workspace_id)})
        assert one.json()["workspace_id"] == owner.workspace_id
        # ...but never one he is not a member of, nor a malformed one.
        for asked in (str(carol.workspace_id), "abc", "0", "99999999999"):
            refused = web.get("/api/v1/accounts", headers={"X-Workspace": asked})
            assert refused.status_code == 404, asked
        foreign = web.post("/workspace", data={"csrf": csrf, "workspace_id": carol.workspace_id})
        assert foreign.status_code == 404
        assert web.get("/api/v1/me").json()["workspace_id"] == bob.workspace_id
        web.post("/logout", data={"csrf": csrf})
    # A new login opens the workspace bob chose last, not the lowest id.
    with _web_login(base_url, "bob@example.com") as web:
        assert web.get("/api/v1/me").json()["workspace_id"] == bob.workspace_id


def test_cli_token_for_a_user_in_several_workspaces_names_one(home: Path) -> None:
    from fluenzr.config import load_settings
    from fluenzr.services import invitations
    from fluenzr.services.context import open_app

    cli = Cli(home=home)
    for email, space in (("ops@example.com", "Ops"), ("dev@example.com", "Dev")):
        added = cli(
            "users", "add", email, "--workspace", space, "--password-env", "PW", "--json",
            env={"PW": "ops-password-123"},
        )  # fmt: skip
        assert added.exit_code == 0, added.stderr
    ctx = open_app(load_settings(home=home))
    try:
        dev = users.user_by_email(ctx, "dev@example.com")
        ops = users.user_by_email(ctx, "ops@example.com")
        dev_space = users.workspaces_of(ctx, dev.id)[0].id
        ops_space = users.workspaces_of(ctx, ops.id)[0].id
        invited = invitations.invite(
            ctx, actor_id=dev.id, workspace_id=dev_space, email="ops@example.com"
        )
        invitations.accept(ctx, token=invited.token, user_id=ops.id)
    finally:
        ctx.close()
    guessed = cli("tokens", "create", "--user", "ops@example.com", "--json")
    assert guessed.exit_code == 2
    assert guessed.json()["error"]["code"] == "token_workspace_required"
    named = cli(
        "tokens", "create", "--user", "ops@example.com", "--workspace-id", str(ops_space), "--json"
    )
    assert named.exit_code == 0, named.stderr
