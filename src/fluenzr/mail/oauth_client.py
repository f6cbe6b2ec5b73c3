"""Talking to an OAuth 2.0 token endpoint (RFC 6749 §4.1.3, §6; PKCE RFC 7636).

    grant = await exchange_code(provider, code=..., redirect_uri=..., code_verifier=...)
    grant = await refresh_grant(provider, refresh_token=secret)

The wire format comes from Authlib (``prepare_grant_uri``, ``prepare_token_request``,
``create_s256_code_challenge``); HTTP is httpx with no proxy variables and no redirects. The
answer is bounded (64 KB) and read as JSON; tokens become :class:`Secret` at once. Failures are
:class:`MailError`: ``reconnect_required`` when the grant is gone (``invalid_grant``: revoked,
expired, or a refresh token already rotated), ``oauth_token_endpoint_failed`` for everything
that may pass (network, 5xx, garbage). The client secret and tokens never appear in errors.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from fluenzr.core.oauth_provider import OAuthProvider
from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError, mail_error

MAX_RESPONSE = 64 * 1024
# Errors of the grant itself (RFC 6749 §5.2): the user must connect again.
GRANT_GONE = frozenset({"invalid_grant", "unauthorized_client", "invalid_scope"})


@dataclass(frozen=True)
class TokenGrant:
    access_token: Secret
    refresh_token: Secret | None  # None: the server kept the previous one (no rotation)
    expires_in: int
    scope: str
    server_date: datetime | None  # the token endpoint's Date header (clock skew)


def new_verifier() -> str:
    """A PKCE code verifier: 64 URL-safe characters (RFC 7636 §4.1 allows 43-128)."""
    return secrets.token_urlsafe(48)


def authorization_url(
    provider: OAuthProvider, *, redirect_uri: str, state: str, verifier: str, login_hint: str
) -> str:
    """Where to send the user: code flow, PKCE S256, ``state``, ``login_hint``."""
    extra = dict(provider.authorize_params)
    if login_hint:
        extra["login_hint"] = login_hint
    url: str = prepare_grant_uri(
        provider.authorization_endpoint,
        provider.client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=provider.scope,
        state=state,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
        **extra,
    )
    return url


async def exchange_code(
    provider: OAuthProvider,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    timeout: float = 10.0,  # noqa: ASYNC109 - one request
) -> TokenGrant:
    body = prepare_token_request(
        "authorization_code",
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=code_verifier,
        **_client_auth(provider),
    )
    return await _token_request(provider, body, timeout=timeout)


async def refresh_grant(
    provider: OAuthProvider,
    *,
    refresh_token: Secret,
    timeout: float = 10.0,  # noqa: ASYNC109 - one request
) -> TokenGrant:
    body = prepare_token_request(
        "refresh_token", refresh_token=refresh_token.reveal(), **_client_auth(provider)
    )
    return await _token_request(provider, body, timeout=timeout)


def _client_auth(provider: OAuthProvider) -> dict[str, str]:
    # client_secret_post: accepted by Google and by Microsoft Entra alike.
    secret = provider.client_secret.get_secret_value() if provider.client_secret else ""
    return {"client_id": provider.client_id or "", "client_secret": secret}


def _error(code: ErrorCode, provider: OAuthProvider, detail: str, **params: str) -> MailError:
    return mail_error(
        code,
        params={
            "provider": provider.key,
            "host": httpx.URL(provider.token_endpoint).host,
            **params,
        },
        detail=detail[:300],
    )


async def _token_request(provider: OAuthProvider, body: str, *, timeout: float) -> TokenGrant:  # noqa: ASYNC109
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    transport = httpx.AsyncHTTPTransport(trust_env=False, retries=0)
    try:
        async with (
            httpx.AsyncClient(
                transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
            ) as client,
            client.stream("POST", provider.token_endpoint, content=body, headers=headers) as resp,
        ):
            raw = b""
            async for chunk in resp.aiter_bytes():
                raw += chunk
                if len(raw) > MAX_RESPONSE:
                    raise _error(ErrorCode.OAUTH_TOKEN_ENDPOINT_FAILED, provider, "too large")
            status, date = resp.status_code, resp.headers.get("date")
    except httpx.HTTPError as exc:
        detail = type(exc).__name__
        raise _error(ErrorCode.OAUTH_TOKEN_ENDPOINT_FAILED, provider, detail) from None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise _error(ErrorCode.OAUTH_TOKEN_ENDPOINT_FAILED, provider, f"HTTP {status}")
    if status != 200 or "error" in data:
        error = str(data.get("error", ""))[:64]
        description = str(data.get("error_description", ""))[:200]
        code = (
            ErrorCode.RECONNECT_REQUIRED
            if error in GRANT_GONE
            else ErrorCode.OAUTH_TOKEN_ENDPOINT_FAILED
        )
        raise _error(code, provider, f"HTTP {status} {error} {description}".strip(), error=error)
    return _grant(provider, data, date)


def _grant(provider: OAuthProvider, data: dict[str, object], date: str | None) -> TokenGrant:
    access = data.get("access_token")
    if not isinstance(access, str) or not access or len(access) > 8192:
        raise _error(ErrorCode.OAUTH_TOKEN_ENDPOINT_FAILED, provider, "no access_token")
    refresh = data.get("refresh_token")
    expires = data.get("expires_in")
    try:
        expires_in = int(expires) if isinstance(expires, int | str) else 3600
    except ValueError:
        expires_in = 3600
    scope = data.get("scope")
    server_date = None
    if date:
        try:
            server_date = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            server_date = None
    return TokenGrant(
        access_token=Secret(access),
        refresh_token=Secret(refresh) if isinstance(refresh, str) and refresh else None,
        expires_in=max(0, min(expires_in, 86_400)),
        scope=scope[:2000] if isinstance(scope, str) else provider.scope,
        server_date=server_date,
    )


__all__ = [
    "TokenGrant",
    "authorization_url",
    "exchange_code",
    "new_verifier",
    "refresh_grant",
]
