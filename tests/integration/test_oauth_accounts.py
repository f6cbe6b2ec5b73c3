"""OAuth accounts end to end through the services, the real AS and the real Postfix/Dovecot.

Connect (PKCE, state bound to the session, single use) → the sending system sends over XOAUTH2
→ the token is refreshed before expiry (the refresh token rotates and is re-sealed) → the grant
is revoked at the AS → the next send pauses the account with ``reconnect_required`` (event) →
reconnecting keeps the account and sending resumes. Tokens appear in no byte of the home.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from fluenzr.config import load_settings
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.services.context import AppContext, default_workspace_id, open_app
from fluenzr.services.oauth_connect import finish_connect, start_connect
from fluenzr.services.oauth_tokens import fresh_access_token
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account, Event
from tests.integration.send_support import FakeClock, enqueue, run_until_idle, statuses
from tests.support import oauth_server
from tests.support.mailservers import create_user, wait_for_message

SESSION = "browser-session-1"
REDIRECT = "http://127.0.0.1:8000/accounts/oauth/callback"


@pytest.fixture(scope="module")
def authorization_server() -> None:
    oauth_server.ensure_oauth_mailservers()


@pytest.fixture
def oauth_app(
    home: Path, db_url: str, mailserver: None, authorization_server: None
) -> Iterator[AppContext]:
    settings = load_settings(home=home, database_url=db_url, **oauth_server.fluenzr_settings())
    ctx = open_app(settings)
    ctx.clock = FakeClock()
    yield ctx
    ctx.close()


def connect(
    ctx: AppContext,
    email: str,
    *,
    provider: str = "google",
    account_id: int | None = None,
    grant: list[str] | None = None,
    session_key: str = SESSION,
) -> Any:
    url = start_connect(
        ctx,
        provider=provider,
        email=email,
        workspace_id=default_workspace_id(ctx.sessions),
        user_id=1,
        session_key=session_key,
        redirect_uri=REDIRECT,
        account_id=account_id,
    )
    assert "code_challenge_method=S256" in url and "login_hint=" in url
    back = httpx.URL(oauth_server.consent(url, email=email, grant=grant))
    assert str(back).startswith(REDIRECT)
    return back.params


def finish(ctx: AppContext, params: Any, *, session_key: str = SESSION) -> Any:
    return asyncio.run(
        finish_connect(
            ctx,
            state=params.get("state", ""),
            code=params.get("code"),
            error=params.get("error"),
            session_key=session_key,
        )
    )


def account(ctx: AppContext, account_id: int) -> Account:
    with ctx.sessions() as session:
        row = session.get(Account, account_id)
        assert row is not None
        return row


def test_connect_send_refresh_revoke_reconnect(oauth_app: AppContext) -> None:
    ctx = oauth_app
    user, peer = create_user("oauthsend"), create_user("peer")
    view = finish(ctx, connect(ctx, user.email))
    row = account(ctx, view.id)
    assert row.auth_method == "oauth" and row.smtp_host == "127.0.0.1"
    first_refresh = row.smtp_password_sealed

    enqueue(ctx, view.id, peer.email, subject="por oauth")
    run_until_idle(ctx)
    assert statuses(ctx) == {"sent": 1}
    assert wait_for_message(peer, subject="por oauth")

    # Shortly before expiry the worker refreshes: a new access token, a rotated refresh token.
    assert isinstance(ctx.clock, FakeClock)
    ctx.clock.advance(seconds=3600 - 60)
    _, token, _ = fresh_access_token(ctx, view.id)
    rotated = account(ctx, view.id)
    assert rotated.smtp_password_sealed != first_refresh
    assert oauth_server.introspect(token.reveal())["active"] is True

    # The user withdraws the consent at the provider: the next send pauses the account.
    refresh = ctx.vault.open(rotated.smtp_password_sealed, context=_refresh_context(rotated))
    oauth_server.revoke(refresh.reveal())
    enqueue(ctx, view.id, peer.email, subject="tras revocar")
    run_until_idle(ctx)
    paused = account(ctx, view.id)
    assert (paused.status, paused.status_reason) == ("paused", "reconnect_required")
    with ctx.sessions() as session:
        events = session.scalars(select(Event).where(Event.type == "account_paused")).all()
    assert any(_data(e)["reason"] == "reconnect_required" for e in events)

    # "Reconectar" (minutes later): the same account, new tokens; the queued message goes out.
    ctx.clock.advance(minutes=5)  # past the pacing interval too
    again = finish(ctx, connect(ctx, user.email, account_id=view.id))
    assert again.id == view.id
    run_until_idle(ctx)
    row_after = account(ctx, view.id)
    assert statuses(ctx) == {"sent": 2}, (
        row_after.status,
        row_after.status_reason,
        row_after.last_error,
    )
    assert wait_for_message(peer, subject="tras revocar")
    assert account(ctx, view.id).status == "active"


def _data(event: Event) -> dict[str, Any]:
    data = event.data
    return data if isinstance(data, dict) else json.loads(data)


def _refresh_context(row: Account) -> str:
    from fluenzr.services.credential_binding import smtp_context

    return smtp_context(row)


def test_state_is_single_use_and_bound_to_the_session(oauth_app: AppContext) -> None:
    ctx = oauth_app
    user = create_user("oauthstate")
    params = connect(ctx, user.email)
    with pytest.raises(ValidationError) as other:
        finish(ctx, params, session_key="someone-else")
    assert other.value.code is ErrorCode.OAUTH_STATE_INVALID
    with pytest.raises(ValidationError) as replay:  # consumed by the refused attempt too
        finish(ctx, params)
    assert replay.value.code is ErrorCode.OAUTH_STATE_INVALID
    expired = connect(ctx, user.email)
    assert isinstance(ctx.clock, FakeClock)
    ctx.clock.advance(minutes=11)
    with pytest.raises(ValidationError) as late:
        finish(ctx, expired)
    assert late.value.code is ErrorCode.OAUTH_STATE_INVALID


def test_denied_consent_and_missing_scope_are_explained(oauth_app: AppContext) -> None:
    ctx = oauth_app
    user = create_user("oauthdeny")
    url = start_connect(
        ctx,
        provider="microsoft",
        email=user.email,
        workspace_id=default_workspace_id(ctx.sessions),
        user_id=1,
        session_key=SESSION,
        redirect_uri=REDIRECT,
    )
    denied = httpx.URL(oauth_server.consent(url, email=user.email, allow=False)).params
    with pytest.raises(ValidationError) as no:
        finish(ctx, denied)
    assert no.value.code is ErrorCode.OAUTH_DENIED
    assert "Microsoft" in no.value.render("es")
    partial = connect(
        ctx,
        user.email,
        provider="microsoft",
        grant=["https://outlook.office.com/IMAP.AccessAsUser.All"],
    )
    with pytest.raises(ValidationError) as scope:
        finish(ctx, partial)
    assert scope.value.code is ErrorCode.OAUTH_SCOPE_NOT_GRANTED
    assert "SMTP.Send" in scope.value.render("en")


def test_a_retargeted_row_never_presents_its_token(oauth_app: AppContext) -> None:
    ctx = oauth_app
    user = create_user("oauthmove")
    view = finish(ctx, connect(ctx, user.email))
    with transaction(ctx.sessions) as session:
        row = session.get(Account, view.id)
        assert row is not None
        row.smtp_host = "localhost"  # raw SQL-like change behind the services' back
    from fluenzr.errors import CredentialsEndpointChanged

    with pytest.raises(CredentialsEndpointChanged):
        fresh_access_token(ctx, view.id)


def test_tokens_never_reach_the_home_folder_in_plaintext(oauth_app: AppContext) -> None:
    ctx = oauth_app
    user = create_user("oauthscan")
    view = finish(ctx, connect(ctx, user.email))
    assert isinstance(ctx.clock, FakeClock)
    ctx.clock.advance(seconds=3590)
    row, token, _ = fresh_access_token(ctx, view.id)
    refresh = ctx.vault.open(row.smtp_password_sealed, context=_refresh_context(row)).reveal()
    needles = [token.reveal().encode(), refresh.encode()]
    for path in ctx.settings.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, path


def test_two_workers_refresh_once_and_never_lose_the_rotated_token(
    oauth_app: AppContext, home: Path, db_url: str
) -> None:
    """Two sending systems (two contexts, two engines) reach an expiring token together: the
    row lock lets one refresh; the other reads its result. With a lost rotation the next
    refresh would answer invalid_grant (the AS revokes a used refresh token)."""
    import concurrent.futures

    ctx = oauth_app
    user = create_user("oauthrace")
    view = finish(ctx, connect(ctx, user.email))
    settings = load_settings(home=home, database_url=db_url, **oauth_server.fluenzr_settings())
    other = open_app(settings)
    try:
        clock = FakeClock(ctx.clock.now() + timedelta(seconds=3590))
        ctx.clock = other.clock = clock
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda c: fresh_access_token(c, view.id), [ctx, other]))
        tokens = {token.reveal() for _, token, _ in results}
        assert len(tokens) == 1  # one refresh, shared
        _, again, _ = fresh_access_token(ctx, view.id, renew=True)  # the stored token works
        assert oauth_server.introspect(again.reveal())["active"] is True
    finally:
        other.close()


def test_idle_accounts_are_kept_alive_and_a_gone_grant_pauses(oauth_app: AppContext) -> None:
    from fluenzr.services.oauth_keepalive import keep_alive_once

    ctx = oauth_app
    user = create_user("oauthidle")
    view = finish(ctx, connect(ctx, user.email))
    assert keep_alive_once(ctx) == 0  # refreshed at connect time
    assert isinstance(ctx.clock, FakeClock)
    ctx.clock.advance(hours=25)
    assert keep_alive_once(ctx) == 1
    row = account(ctx, view.id)
    oauth_server.revoke(
        ctx.vault.open(row.smtp_password_sealed, context=_refresh_context(row)).reveal()
    )
    ctx.clock.advance(hours=25)
    keep_alive_once(ctx)
    paused = account(ctx, view.id)
    assert (paused.status, paused.status_reason) == ("paused", "reconnect_required")


def test_probar_for_an_oauth_account(oauth_app: AppContext) -> None:
    """token → AUTH XOAUTH2 → send to self → IMAP over OAuth, against the real servers; then
    the consent is withdrawn and the token step says to reconnect."""
    from fluenzr.services.account_probar import run_probar

    ctx = oauth_app
    ctx.settings = ctx.settings.model_copy(update={"test_mail_wait": 15.0})
    user = create_user("oauthprobar")
    view = finish(ctx, connect(ctx, user.email))
    report = asyncio.run(run_probar(ctx, account_id=view.id))
    names = [s.name for s in report.steps]
    assert report.ok, report.error_dict()
    assert names[:2] == ["token", "dns"] and "imap_login" in names and report.sent
    auth = next(s for s in report.steps if s.name == "auth")
    assert "XOAUTH2" in auth.detail
    row = account(ctx, view.id)
    oauth_server.revoke(
        ctx.vault.open(row.smtp_password_sealed, context=_refresh_context(row)).reveal()
    )
    again = asyncio.run(run_probar(ctx, account_id=view.id))
    assert again.error is not None and again.error.code is ErrorCode.RECONNECT_REQUIRED
    assert [s.name for s in again.steps] == ["token"]
    assert "Reconectar" in again.error.hint("es")
