"""Keeping idle OAuth accounts' refresh tokens alive, as part of the sending system.

An account that sends nothing still has its token refreshed every ``oauth_keepalive_hours``
(Microsoft retires refresh tokens unused for 90 days, Google ones unused for six months). A
grant found gone pauses the account with ``reconnect_required`` (event → webhooks) at once,
instead of at its next send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import or_, select

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import FluenzrError
from fluenzr.services.context import AppContext
from fluenzr.services.oauth_tokens import fresh_access_token
from fluenzr.storage.account_pausing import pause_account
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account

log = logging.getLogger(__name__)
CHECK_EVERY = 900.0  # seconds between two looks for accounts due


def due_accounts(ctx: AppContext) -> list[int]:
    older = ctx.clock.now() - timedelta(hours=ctx.settings.oauth_keepalive_hours)
    with ctx.sessions() as session:
        return list(
            session.scalars(
                select(Account.id).where(
                    Account.auth_method == "oauth",
                    Account.status != "paused",
                    or_(Account.oauth_refreshed_at.is_(None), Account.oauth_refreshed_at < older),
                )
            )
        )


def keep_alive_once(ctx: AppContext) -> int:
    """Refresh every due account (blocking: run in a thread). Returns how many were refreshed."""
    done = 0
    for account_id in due_accounts(ctx):
        try:
            fresh_access_token(ctx, account_id)
            done += 1
        except FluenzrError as exc:
            log.info("token keep-alive for account %s: %s", account_id, exc.code)
            if exc.code is ErrorCode.RECONNECT_REQUIRED:
                _pause(ctx, account_id)
    return done


def _pause(ctx: AppContext, account_id: int) -> None:
    with transaction(ctx.sessions) as session:
        account = session.get(Account, account_id)
        if account is not None and account.status != "paused":
            error = {"code": ErrorCode.RECONNECT_REQUIRED.value, "stage": "token"}
            pause_account(
                session,
                account,
                reason=ErrorCode.RECONNECT_REQUIRED,
                now=ctx.clock.now(),
                until=None,
                error=error,
            )


async def run_keepalive(ctx: AppContext, *, stop: asyncio.Event, until_idle: bool) -> None:
    while not stop.is_set():
        await asyncio.to_thread(keep_alive_once, ctx)
        if until_idle:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), CHECK_EVERY)


__all__ = ["due_accounts", "keep_alive_once", "run_keepalive"]
