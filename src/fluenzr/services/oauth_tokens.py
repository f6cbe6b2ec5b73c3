"""OAuth accounts in the sending system: a fresh access token, refreshed under the row's lock.

    creds = oauth_credentials(ctx, account)            # endpoints carrying the access token

* The access token is sealed in the row (``oauth_access_sealed``) with its expiry, so every
  worker shares it; it is refreshed ``oauth_refresh_margin`` seconds before it expires, when the
  server refused it (``renew``), or when an idle account's was last refreshed over
  ``oauth_keepalive_hours`` ago (Microsoft retires refresh tokens unused for 90 days).
* The refresh happens inside one transaction holding the account row ``FOR UPDATE``
  (PostgreSQL; SQLite has one writer, and a process lock covers the threads of one worker): a
  second worker waits, then finds the new token and does not refresh again. A rotated refresh
  token is re-sealed in the same transaction as the access token — never lost, never reused.
* ``invalid_grant`` (consent revoked, refresh token expired) raises ``reconnect_required`` (a
  :class:`VaultError`: the sending system pauses the account until "Reconectar").
* A token is presented only to its provider's servers: the row's token endpoint and mail servers
  must be the provider's (settings), and the sealing context binds them all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import SecretStr
from sqlalchemy import select

from fluenzr.core.egress import EgressPolicy
from fluenzr.core.endpoints import Endpoint, MailboxCredentials, Security, TlsPolicy
from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import CredentialsEndpointChanged, MailError, VaultError
from fluenzr.mail.oauth_client import TokenGrant, refresh_grant
from fluenzr.presets.oauth_providers import OAuthProvider, oauth_provider
from fluenzr.services.context import AppContext
from fluenzr.services.credential_binding import (
    OAUTH_ACCESS_FIELD,
    OAUTH_REFRESH_FIELD,
    oauth_access_context,
    open_bound,
    smtp_context,
)
from fluenzr.storage.base import aware
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account

T = TypeVar("T")
_locks: dict[tuple[str, int], threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(ctx: AppContext, account_id: int) -> threading.Lock | contextlib.nullcontext[None]:
    """SQLite has no row locks (and one writer, one process): a process lock per account.
    PostgreSQL's ``FOR UPDATE`` serialises every worker on every machine by itself."""
    if ctx.engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    key = (ctx.settings.effective_database_url, account_id)
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code (a worker thread normally; from inside
    an event loop, on a helper thread so the loop's own ``asyncio.run`` rules hold)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def check_servers(account: Account, provider: OAuthProvider) -> None:
    """The row must name the provider's own token endpoint and mail servers (else the token
    would go somewhere else): refuse before anything is opened."""
    wanted = (
        provider.token_endpoint,
        (provider.smtp.host, provider.smtp.port, provider.smtp.security),
        (provider.imap.host, provider.imap.port, provider.imap.security),
    )
    row = (
        account.oauth_token_endpoint,
        (account.smtp_host, account.smtp_port, account.smtp_security),
        (account.imap_host, account.imap_port, account.imap_security),
    )
    if row != wanted:
        raise CredentialsEndpointChanged(params={"id": account.id, "field": OAUTH_REFRESH_FIELD})


def _needs_refresh(ctx: AppContext, account: Account, *, renew: bool, now: datetime) -> bool:
    expires = aware(account.oauth_access_expires_at)
    if renew or account.oauth_access_sealed is None or expires is None:
        return True
    if expires - now <= timedelta(seconds=ctx.settings.oauth_refresh_margin):
        return True
    refreshed = aware(account.oauth_refreshed_at)
    keepalive = timedelta(hours=ctx.settings.oauth_keepalive_hours)
    return refreshed is None or now - refreshed >= keepalive


def store_grant(ctx: AppContext, account: Account, grant: TokenGrant, *, now: datetime) -> None:
    """Seal the access token (and a rotated refresh token) into the row; caller commits."""
    if grant.refresh_token is not None:
        account.smtp_password_sealed = ctx.vault.seal(
            grant.refresh_token, context=smtp_context(account)
        )
    account.oauth_access_sealed = ctx.vault.seal(
        grant.access_token, context=oauth_access_context(account)
    )
    account.oauth_access_expires_at = now + timedelta(seconds=grant.expires_in)
    account.oauth_scope = grant.scope
    account.oauth_refreshed_at = now


def fresh_access_token(
    ctx: AppContext,
    account_id: int,
    *,
    renew: bool = False,
    observe: Callable[[TokenGrant], None] | None = None,
) -> tuple[Account, Secret, datetime]:
    """The account (detached), a valid access token and its expiry; refreshes if needed."""
    with _lock(ctx, account_id), transaction(ctx.sessions) as session:
        account = session.scalar(select(Account).where(Account.id == account_id).with_for_update())
        if account is None or not account.is_oauth:
            raise VaultError(ErrorCode.OAUTH_ACCOUNT_NOT_OAUTH, params={"id": account_id})
        provider = oauth_provider(account.provider, ctx.settings)
        check_servers(account, provider)
        now = ctx.clock.now()
        if not _needs_refresh(ctx, account, renew=renew, now=now):
            assert account.oauth_access_sealed is not None
            token = open_bound(
                ctx.vault,
                account.oauth_access_sealed,
                account=account,
                field=OAUTH_ACCESS_FIELD,
                context=oauth_access_context(account),
            )
        else:
            refresh = open_bound(
                ctx.vault,
                account.smtp_password_sealed,
                account=account,
                field=OAUTH_REFRESH_FIELD,
                context=smtp_context(account),
            )
            grant = _refresh(ctx, provider, refresh, account_id=account_id)
            store_grant(ctx, account, grant, now=now)
            token = grant.access_token
            if observe is not None:
                observe(grant)
        expires = aware(account.oauth_access_expires_at)
        assert expires is not None
        session.flush()
        session.expunge(account)
        return account, token, expires


def _refresh(
    ctx: AppContext, provider: OAuthProvider, refresh: Secret, *, account_id: int
) -> TokenGrant:
    if not provider.configured:
        raise VaultError(ErrorCode.OAUTH_NOT_CONFIGURED, params=_provider_params(provider))
    try:
        return run_coroutine(
            refresh_grant(provider, refresh_token=refresh, timeout=ctx.settings.oauth_timeout)
        )
    except MailError as exc:
        if exc.code is ErrorCode.RECONNECT_REQUIRED:
            raise VaultError(
                ErrorCode.RECONNECT_REQUIRED,
                params={"id": account_id, "field": OAUTH_REFRESH_FIELD, "provider": provider.key},
            ) from None
        raise


def _provider_params(provider: OAuthProvider) -> dict[str, str]:
    return {"provider": provider.name, "provider_upper": provider.key.upper()}


def oauth_credentials(
    ctx: AppContext, account_id: int, *, renew: bool = False
) -> MailboxCredentials:
    """Endpoints for an OAuth account: the provider's servers, the access token, its SASL."""
    account, token, expires = fresh_access_token(ctx, account_id, renew=renew)
    provider = oauth_provider(account.provider, ctx.settings)
    egress = EgressPolicy(ctx.settings.egress_policy)

    def endpoint(host: str, port: int, security: str, ca_pem: str | None) -> Endpoint:
        return Endpoint(
            host=host,
            port=port,
            security=Security(security),
            username=account.smtp_username,
            password=token,
            tls=TlsPolicy(ca_pem=ca_pem, pin_sha256=account.pin_sha256),
            egress=egress,
            oauth=provider.mechanism,
        )

    assert account.imap_host and account.imap_port and account.imap_security
    return MailboxCredentials(
        account_id=account.id,
        workspace_id=account.workspace_id,
        email=account.email,
        display_name=account.display_name,
        smtp=endpoint(
            account.smtp_host, account.smtp_port, account.smtp_security, account.smtp_ca_pem
        ),
        imap=endpoint(
            account.imap_host, account.imap_port, account.imap_security, account.imap_ca_pem
        ),
        valid_until=expires,
    )


def client_secret_set(secret: SecretStr | None) -> bool:
    return bool(secret and secret.get_secret_value())


__all__ = [
    "check_servers",
    "fresh_access_token",
    "oauth_credentials",
    "run_coroutine",
    "store_grant",
]
