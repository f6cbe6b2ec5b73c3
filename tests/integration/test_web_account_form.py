"""A rejected account form (add, edit, limits) keeps every value typed and shows every error
next to its field; passwords are kept server-side for the re-post and never rendered back."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from fluenzr.services import accounts
from fluenzr.services.context import AppContext
from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_of, other_user, serve

SMTP_PASSWORD = "Kept-Only-Server-Side-77"
IMAP_PASSWORD = "Imap-Kept-Server-Side-88"


@pytest.fixture
def base_url(app: AppContext) -> Iterator[str]:
    with serve(app, sending=False) as url:
        yield url


def _draft(html: str) -> str:
    found = re.search(r'name="draft" value="([^"]*)"', html)
    assert found
    return found.group(1)


def _errors(html: str) -> list[str]:
    return re.findall(r'<p class="field-error" id="([a-z_]+)-error"', html)


def _signed_in(http: httpx.Client, email: str = ADMIN_EMAIL) -> str:
    page = http.get("/setup")
    if page.status_code == 200 and "/setup" in str(page.url):
        http.post(
            "/setup",
            data={
                "csrf": csrf_of(page.text),
                "email": email,
                "name": "A",
                "password": ADMIN_PASSWORD,
            },
        )
    else:
        login = csrf_of(http.get("/login").text)
        http.post("/login", data={"csrf": login, "email": email, "password": ADMIN_PASSWORD})
    return csrf_of(http.get("/accounts/new").text)


TYPED = {
    "email": "ana@example.com",
    "display_name": "Ana Pérez",
    "smtp_host": "smtp.example.com",
    "smtp_port": "465",
    "username": "ana.login",
    "smtp_security": "starttls",  # 465 speaks SSL: refused
    "imap_host": "imap.example.com",
    "imap_port": "993",
    "imap_security": "ssl",
    "imap_username": "ana.imap",
    "daily_limit": "20",
    "hourly_limit": "30",  # more than daily: refused
    "min_interval": "200",
    "max_interval": "100",
    "timezone": "Europe/Madrid",
}


def test_rejected_add_keeps_values_shows_all_errors_and_reposts_passwords(
    base_url: str, app: AppContext
) -> None:
    with httpx.Client(base_url=base_url) as http:
        token = _signed_in(http)
        first = http.post(
            "/accounts/new",
            data={
                "csrf": token,
                "action": "save",
                **TYPED,
                "password": SMTP_PASSWORD,
                "imap_password": IMAP_PASSWORD,
            },
        )
        assert first.status_code == 422
        assert _errors(first.text) == ["smtp_security", "hourly_limit", "max_interval"]
        for name, value in TYPED.items():
            if name.endswith("_security"):
                assert re.search(rf'<option value="{value}" selected>', first.text), name
            else:
                assert f'value="{value}"' in first.text, name
        assert SMTP_PASSWORD not in first.text and IMAP_PASSWORD not in first.text
        assert "We kept the password" in first.text or "Guardamos la contraseña" in first.text
        draft = _draft(first.text)
        assert draft and draft not in (SMTP_PASSWORD, IMAP_PASSWORD)

        # Fix one field: the other error is still there, the passwords still kept.
        second = http.post(
            "/accounts/new",
            data={"csrf": token, "action": "save", "draft": draft, **TYPED, "smtp_port": "587"},
        )
        assert second.status_code == 422
        assert _errors(second.text) == ["hourly_limit", "max_interval"]
        draft = _draft(second.text)
        third = http.post(
            "/accounts/new",
            data={
                "csrf": token,
                "action": "save",
                "draft": draft,
                **TYPED,
                "smtp_port": "587",
                "hourly_limit": "10",
            },
        )
        assert third.status_code == 422 and _errors(third.text) == ["max_interval"]
        done = http.post(
            "/accounts/new",
            data={
                "csrf": token,
                "action": "save",
                "draft": _draft(third.text),
                **TYPED,
                "smtp_port": "587",
                "hourly_limit": "10",
                "max_interval": "300",
            },
        )
        assert done.status_code == 303, _errors(done.text)
        account_id = int(done.headers["location"].split("/")[2].split("?")[0])
        view = accounts.get_account(app, workspace_id=1, account_id=account_id)
        assert view.password_set and (view.daily_limit, view.hourly_limit) == (20, 10)
        assert (view.min_interval, view.max_interval, view.imap_username) == (200, 300, "ana.imap")
        # The draft is gone once saved: replaying it keeps nothing.
        again = http.post(
            "/accounts/new",
            data={
                "csrf": token,
                "action": "save",
                "draft": draft,
                **TYPED,
                "email": "b@example.com",
            },
        )
        assert "password" in _errors(again.text)


def test_a_draft_is_only_for_the_user_who_typed_it(base_url: str, app: AppContext) -> None:
    with httpx.Client(base_url=base_url) as http:
        token = _signed_in(http)
        rejected = http.post(
            "/accounts/new",
            data={"csrf": token, "action": "save", **TYPED, "password": SMTP_PASSWORD},
        )
        draft = _draft(rejected.text)
    stranger = other_user(app)
    with httpx.Client(base_url=base_url) as other:
        theirs = _signed_in(other, stranger.email)
        fixed = {**TYPED, "smtp_port": "587", "hourly_limit": "10", "max_interval": "300"}
        stolen = other.post(
            "/accounts/new", data={"csrf": theirs, "action": "save", "draft": draft, **fixed}
        )
        assert stolen.status_code == 422 and _errors(stolen.text) == ["password"]


def test_empty_add_form_lists_every_missing_field(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as http:
        token = _signed_in(http)
        empty = http.post("/accounts/new", data={"csrf": token, "action": "save"})
        assert empty.status_code == 422
        assert _errors(empty.text) == ["email", "smtp_host", "password"]
        assert 'id="form-errors"' in empty.text  # the summary links to each field
        assert 'href="#smtp_host"' in empty.text


def test_rejected_edit_and_limits_keep_values(base_url: str, app: AppContext) -> None:
    with httpx.Client(base_url=base_url) as http:
        token = _signed_in(http)
        created = http.post(
            "/accounts/new",
            data={
                "csrf": token,
                "action": "save",
                "email": "eva@example.com",
                "smtp_host": "smtp.example.com",
                "smtp_port": "587",
                "password": SMTP_PASSWORD,
            },
        )
        account_id = int(created.headers["location"].split("/")[2].split("?")[0])
        edited = http.post(
            f"/accounts/{account_id}/edit",
            data={
                "csrf": token,
                "email": "eva@example.com",
                "display_name": "Eva",
                "smtp_host": "bad host!",
                "smtp_port": "587",
                "smtp_security": "ssl",
                "daily_limit": "5",
                "hourly_limit": "6",
                "password": "a-new-password-1",
            },
        )
        assert edited.status_code == 422
        assert _errors(edited.text) == ["smtp_host", "smtp_security", "hourly_limit"]
        assert 'value="bad host!"' in edited.text and 'value="Eva"' in edited.text
        assert "a-new-password-1" not in edited.text
        unchanged = accounts.get_account(app, workspace_id=1, account_id=account_id)
        assert unchanged.smtp_host == "smtp.example.com" and unchanged.display_name == ""

        limits = http.post(
            f"/accounts/{account_id}/settings",
            data={
                "csrf": token,
                "daily_limit": "5",
                "hourly_limit": "9",
                "min_interval": "0",
                "max_interval": "0",
                "timezone": "Mars/Olympus",
                "window": "on",
                "days": ["1", "3"],
                "start": "10:15",
                "end": "17:45",
            },
        )
        assert limits.status_code == 422
        assert _errors(limits.text) == ["hourly_limit", "timezone"]
        for shown in ('value="5"', 'value="9"', 'value="Mars/Olympus"', 'value="10:15"'):
            assert shown in limits.text
        assert re.search(r'name="days" value="3" checked', limits.text)
        assert not re.search(r'name="days" value="0" checked', limits.text)
        stored = accounts.get_account(app, workspace_id=1, account_id=account_id)
        assert (stored.daily_limit, stored.timezone) == (50, "UTC")
