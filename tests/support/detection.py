"""Run one raw message through detection's processing step, as the watcher would."""

from __future__ import annotations

from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.processing import Processed, process_message
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account


def process_raw(
    ctx: AppContext, account_id: int, raw: bytes, *, uid: int, config: DetectionConfig
) -> Processed | None:
    """``raw`` as INBOX message ``uid`` (UIDVALIDITY 1) of the account, in one transaction."""
    with transaction(ctx.sessions) as session:
        account = session.get(Account, account_id)
        assert account is not None
        return process_message(
            session,
            raw,
            account=account,
            mailbox="INBOX",
            uidvalidity=1,
            uid=uid,
            now=ctx.clock.now(),
            config=config,
        )
