"""Probar's first step for an OAuth account: "token" — refresh now, check scopes and the clock.

A fresh refresh at the provider proves the grant is alive (a revoked consent answers
``reconnect_required``); the granted scopes must include what mail needs
(``oauth_scope_missing``); the token endpoint's ``Date`` more than ``MAX_SKEW`` seconds away
from ours is ``oauth_clock_skew`` (tokens expire by the clock). The AUTH XOAUTH2/OAUTHBEARER,
send-to-self and IMAP steps then run with the new token.
"""

from __future__ import annotations

import asyncio
import time

from fluenzr.core.endpoints import MailboxCredentials
from fluenzr.diagnose.runner import Status, StepResult, step_from_error
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import FluenzrError, MailError, mail_error
from fluenzr.mail.oauth_client import TokenGrant
from fluenzr.presets.oauth_providers import oauth_provider
from fluenzr.services.context import AppContext
from fluenzr.services.oauth_tokens import fresh_access_token, oauth_credentials

MAX_SKEW = 300.0


def _check(ctx: AppContext, account_id: int) -> tuple[MailboxCredentials, str]:
    seen: list[TokenGrant] = []
    account, _, expires = fresh_access_token(ctx, account_id, renew=True, observe=seen.append)
    provider = oauth_provider(account.provider, ctx.settings)
    missing = provider.missing_scopes(account.oauth_scope)
    if missing:
        raise mail_error(
            ErrorCode.OAUTH_SCOPE_MISSING,
            params={"missing": " ".join(missing)},
            detail=" ".join(missing),
        )
    now = ctx.clock.now()
    if seen and seen[0].server_date is not None:
        skew = abs((seen[0].server_date - now).total_seconds())
        if skew > MAX_SKEW:
            raise mail_error(ErrorCode.OAUTH_CLOCK_SKEW, params={"seconds": int(skew)})
    lifetime = int((expires - now).total_seconds())
    detail = f"{provider.name}: scope {account.oauth_scope or '—'}; {lifetime} s"
    return oauth_credentials(ctx, account_id), detail


async def token_step(
    ctx: AppContext, account_id: int
) -> tuple[StepResult, MailboxCredentials | None, MailError | None]:
    started = time.perf_counter()
    try:
        credentials, detail = await asyncio.to_thread(_check, ctx, account_id)
    except MailError as error:
        return step_from_error("token", error, _ms(started), Status.FAILED), None, error
    except FluenzrError as exc:  # reconnect_required, endpoint changed, not configured
        refused = mail_error(exc.code, params=dict(exc.params), detail=exc.code.value)
        return step_from_error("token", refused, _ms(started), Status.FAILED), None, refused
    return StepResult("token", Status.OK, _ms(started), detail), credentials, None


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


__all__ = ["MAX_SKEW", "token_step"]
