"""The web connect flow over real HTTP (no browser): "Conectar con Google" → the test AS's
consent page → callback → account created; the state is bound to the browser session; a denied
consent is explained; "Reconectar" keeps the account. No token in any page, log or home file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fluenzr.config import load_settings
from fluenzr.services.context import AppContext, open_app
from fluenzr.services.credential_binding import smtp_context
from fluenzr.storage.models import Account
from tests.e2e.server import csrf_of, serve, set_up_admin_over_http
from tests.support import oauth_server
from tests.support.mailservers import create_user


@pytest.fixture
def oauth_web(home: Path, mailserver: None) -> Iterator[tuple[AppContext, str]]:
    oauth_server.ensure_oauth_mailservers()
    ctx = open_app(load_settings(home=home, **oauth_server.fluenzr_settings()))
    with serve(ctx, sending=False) as url:
        yield ctx, url
    ctx.close()


@contextlib.contextmanager
def _signed_in(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=10) as http:
        _setup(http)
        yield http


def _setup(http: httpx.Client) -> None:
    set_up_admin_over_http(http)


def _connect(
    http: httpx.Client, email: str, *, provider: str = "google", allow: bool = True
) -> str:
    accounts = http.get("/accounts")
    assert "Conectar con Google" in accounts.text and "Conectar con Microsoft" in accounts.text
    start = http.post(
        f"/accounts/oauth/{provider}", data={"csrf": csrf_of(accounts.text), "email": email}
    )
    assert start.status_code == 303
    authorize = start.headers["location"]
    assert authorize.startswith(oauth_server.AUTHORIZE_URL)
    assert "code_challenge_method=S256" in authorize
    return oauth_server.consent(authorize, email=email, allow=allow)


def test_connect_from_the_accounts_page(oauth_web: tuple[AppContext, str]) -> None:
    ctx, url = oauth_web
    user = create_user("webconnect")
    with _signed_in(url) as http:
        callback = _connect(http, user.email)
        assert callback.startswith(url + "/accounts/oauth/callback?")
        # Another browser (no session) cannot use this callback ...
        with httpx.Client(timeout=10) as stranger:
            assert stranger.get(callback).status_code in (303, 401, 422)
        # ... and it was single use anyway: a fresh flow for ours.
        callback = _connect(http, user.email)
        done = http.get(callback)
        assert done.status_code == 303
        account_page = http.get(done.headers["location"])
        assert user.email in account_page.text and "Reconectar" in account_page.text
        replay = http.get(callback)
        assert replay.status_code == 422 and "ya se usó" in replay.text

        with ctx.sessions() as session:
            row = session.query(Account).filter_by(email=user.email).one()
            refresh = ctx.vault.open(row.smtp_password_sealed, context=smtp_context(row)).reveal()
        assert row.auth_method == "oauth"
        # Reconectar: back through the consent, the same account.
        page = http.get(f"/accounts/{row.id}")
        again = http.post(f"/accounts/{row.id}/reconnect", data={"csrf": csrf_of(page.text)})
        assert again.status_code == 303
        back = http.get(oauth_server.consent(again.headers["location"], email=user.email))
        assert back.headers["location"].startswith(f"/accounts/{row.id}")
        api = http.get(f"/api/v1/accounts/{row.id}")
        pages = [account_page.text, page.text, api.text]
    for text in pages:
        assert refresh not in text
    for path in ctx.settings.home.rglob("*"):
        if path.is_file():
            assert refresh.encode() not in path.read_bytes(), path


def test_denied_consent_is_explained(oauth_web: tuple[AppContext, str]) -> None:
    _, url = oauth_web
    user = create_user("webdeny")
    with _signed_in(url) as http:
        callback = _connect(http, user.email, provider="microsoft", allow=False)
        answer = http.get(callback)
    assert answer.status_code == 422
    assert "No se concedió el permiso en Microsoft" in answer.text
