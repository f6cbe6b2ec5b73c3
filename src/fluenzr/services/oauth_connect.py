"""Connecting a mailbox with OAuth 2.0: the authorization code flow with PKCE, for web and CLI.

    url = start_connect(ctx, provider="google", email=..., session_key=..., redirect_uri=...)
    ... the user consents at the provider, which redirects back with ?code=&state= ...
    view = await finish_connect(ctx, state=..., code=..., session_key=...)

* ``state`` is 256 random bits, stored only as its SHA-256 with the SHA-256 of the browser
  session that started the flow: the callback must come from that session, within 10 minutes,
  and the row is deleted when read (single use) — a replayed or forwarded callback fails with
  ``oauth_state_invalid``.
* The PKCE verifier (S256) never leaves the server; the redirect URI sent with the code is the
  one stored with the flow (exact match at the provider).
* The account gets the provider's servers; the refresh and access tokens are sealed (the public
  key suffices: the web role can do this), bound to the provider and servers. Reconnecting an
  account keeps it (same id, history, limits) and records a credentials change, which lifts a
  ``reconnect_required`` pause.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import DuplicateError, NotFoundError, ValidationError
from fluenzr.mail.oauth_client import TokenGrant, authorization_url, exchange_code, new_verifier
from fluenzr.presets.oauth_providers import OAuthProvider, oauth_provider
from fluenzr.services import account_rules
from fluenzr.services.account_views import AccountView, to_view
from fluenzr.services.context import AppContext
from fluenzr.services.oauth_tokens import store_grant
from fluenzr.services.seal_keys import ensure_sealing_key_current
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account, OAuthFlow

FLOW_LIFETIME = timedelta(minutes=10)
MAX_CA_PEM = 64 * 1024
DEFAULTS = {"daily_limit": 50, "hourly_limit": 10, "min_interval": 60, "max_interval": 180}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def configured_provider(ctx: AppContext, key: str) -> OAuthProvider:
    provider = oauth_provider(key, ctx.settings)
    if not provider.configured:
        raise ValidationError(
            ErrorCode.OAUTH_NOT_CONFIGURED,
            params={
                "field": "provider",
                "provider": provider.name,
                "provider_upper": provider.key.upper(),
            },
        )
    return provider


def start_connect(
    ctx: AppContext,
    *,
    provider: str,
    email: str,
    workspace_id: int,
    user_id: int,
    session_key: str,
    redirect_uri: str,
    display_name: str = "",
    account_id: int | None = None,
) -> str:
    """Record a flow and return the provider's authorization URL (PKCE S256, state, hint)."""
    chosen = configured_provider(ctx, provider)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        if account_id is not None:
            account = _oauth_account(session, workspace_id=workspace_id, account_id=account_id)
            email, display_name = account.email, account.display_name
            if account.provider != chosen.key:
                raise ValidationError(
                    ErrorCode.OAUTH_ACCOUNT_NOT_OAUTH, params={"field": "provider"}
                )
        address = account_rules.email(email)
        state, verifier = secrets.token_urlsafe(32), new_verifier()
        session.execute(delete(OAuthFlow).where(OAuthFlow.expires_at < now))
        session.add(
            OAuthFlow(
                state_sha256=_sha256(state),
                session_sha256=_sha256(session_key),
                workspace_id=workspace_id,
                user_id=user_id,
                provider=chosen.key,
                email=address,
                display_name=display_name.strip()[:200],
                account_id=account_id,
                code_verifier=verifier,
                redirect_uri=redirect_uri,
                expires_at=now + FLOW_LIFETIME,
            )
        )
    return authorization_url(
        chosen, redirect_uri=redirect_uri, state=state, verifier=verifier, login_hint=address
    )


def take_flow(ctx: AppContext, *, state: str, session_key: str) -> OAuthFlow:
    """The flow ``state`` names, deleted as it is read; refused unless this session's, fresh."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        flow = session.get(OAuthFlow, _sha256(state or ""))
        if flow is None:
            raise ValidationError(ErrorCode.OAUTH_STATE_INVALID, params={"field": "state"})
        session.delete(flow)
        session.flush()
        session.expunge(flow)
    expires = (
        flow.expires_at if flow.expires_at.tzinfo else flow.expires_at.replace(tzinfo=now.tzinfo)
    )
    if not hmac.compare_digest(flow.session_sha256, _sha256(session_key)) or expires < now:
        raise ValidationError(ErrorCode.OAUTH_STATE_INVALID, params={"field": "state"})
    return flow


def authorization_error(provider: OAuthProvider, error: str, description: str) -> ValidationError:
    """The provider's redirect said no (RFC 6749 §4.1.2.1): explained, never echoed raw HTML."""
    error = "".join(c for c in error if c.isalnum() or c in "_-")[:64]
    text = " ".join(description.split())[:200]
    if error == "access_denied":
        return ValidationError(
            ErrorCode.OAUTH_DENIED, params={"field": "consent", "provider": provider.name}
        )
    return ValidationError(
        ErrorCode.OAUTH_AUTHORIZATION_FAILED,
        params={
            "field": "consent",
            "provider": provider.name,
            "error": f"{error} {text}".strip() or "?",
        },
    )


async def finish_connect(
    ctx: AppContext,
    *,
    state: str,
    session_key: str,
    code: str | None = None,
    error: str | None = None,
    error_description: str = "",
) -> AccountView:
    """The redirect back: check the flow, exchange the code, create or reconnect the account."""
    flow = take_flow(ctx, state=state, session_key=session_key)
    provider = configured_provider(ctx, flow.provider)
    if error or not code:
        raise authorization_error(provider, error or "no_code", error_description)
    grant = await exchange_code(
        provider,
        code=code[:2048],
        redirect_uri=flow.redirect_uri,
        code_verifier=flow.code_verifier,
        timeout=ctx.settings.oauth_timeout,
    )
    missing = provider.missing_scopes(grant.scope)
    if missing:
        raise ValidationError(
            ErrorCode.OAUTH_SCOPE_NOT_GRANTED,
            params={"field": "scope", "missing": " ".join(missing)},
        )
    if grant.refresh_token is None:
        raise authorization_error(
            provider, "no_refresh_token", "the provider sent no refresh token"
        )
    return store_connected(ctx, flow=flow, provider=provider, grant=grant)


def _oauth_account(session: Session, *, workspace_id: int, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.workspace_id != workspace_id:
        raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id})
    if not account.is_oauth:
        raise ValidationError(ErrorCode.OAUTH_ACCOUNT_NOT_OAUTH, params={"field": "account"})
    return account


def _ca_pem(ctx: AppContext) -> str | None:
    """The operator's extra CA for the providers' servers (a file on this machine)."""
    path: Path | None = ctx.settings.oauth_ca_pem_file
    if path is None:
        return None
    text = path.read_text("ascii")[: MAX_CA_PEM + 1]
    return text if "BEGIN CERTIFICATE" in text and len(text) <= MAX_CA_PEM else None


def store_connected(
    ctx: AppContext, *, flow: OAuthFlow, provider: OAuthProvider, grant: TokenGrant
) -> AccountView:
    now = ctx.clock.now()
    assert flow.workspace_id is not None
    with transaction(ctx.sessions) as session:
        if flow.account_id is not None:
            account = _oauth_account(
                session, workspace_id=flow.workspace_id, account_id=flow.account_id
            )
        else:
            taken = session.scalar(
                select(Account.id).where(
                    Account.workspace_id == flow.workspace_id, Account.email == flow.email
                )
            )
            if taken is not None:
                raise DuplicateError(
                    ErrorCode.ACCOUNT_DUPLICATE, params={"field": "email", "email": flow.email}
                )
            account = Account(
                workspace_id=flow.workspace_id,
                email=flow.email,
                display_name=flow.display_name or flow.email.split("@")[0],
                provider=provider.key,
                smtp_password_sealed=b"",
                auth_method="oauth",
                status="active",
                timezone="UTC",
                **DEFAULTS,
            )
            session.add(account)
        # The provider's servers, whatever the row said: a token goes nowhere else.
        ca = _ca_pem(ctx)
        account.smtp_host, account.smtp_port = provider.smtp.host, provider.smtp.port
        account.smtp_security = provider.smtp.security
        account.imap_host, account.imap_port = provider.imap.host, provider.imap.port
        account.imap_security, account.imap_username = provider.imap.security, None
        account.smtp_username = flow.email
        account.smtp_ca_pem = account.imap_ca_pem = ca
        account.pin_sha256, account.smtp_auth = None, True
        account.oauth_token_endpoint = provider.token_endpoint
        account.imap_password_sealed = None
        session.flush()  # the id is part of the tokens' associated data
        store_grant(ctx, account, grant, now=now)
        account.credentials_changed_at = now
        if account.status == "error":
            account.status, account.status_reason, account.last_error = "active", None, None
        sealed = [account.smtp_password_sealed, account.oauth_access_sealed or b""]
        ensure_sealing_key_current(session, sealed)
        return to_view(account)


__all__ = [
    "authorization_error",
    "configured_provider",
    "finish_connect",
    "start_connect",
    "store_connected",
    "take_flow",
]
