"""P2: scan a 10,000-message INBOX on the local Dovecot (classification included) vs imapflow."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import cast

from sqlalchemy import delete, select, update
from tests.support.mailservers import (
    CA_FILE,
    HOST,
    IMAPS_PORT,
    MailUser,
    create_user,
    require_mailserver,
)

from benchmarks.detect.support import (
    HERE,
    add_account,
    add_sent,
    bench_app,
    ensure_imapflow,
    fill_maildir,
    mailbox_mix,
    remove_users,
)
from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.imap_adapter import connect_account
from fluenzr.detection.processing import TRIAGE_FIELDS
from fluenzr.detection.watcher import MailboxWatcher
from fluenzr.services.context import AppContext
from fluenzr.services.runtime import credentials_opener
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account, Event
from fluenzr.storage.models.detection import (
    ImapSyncState,
    IncomingMessage,
    RecipientState,
    Suppression,
)
from fluenzr.storage.models.outbox import SENT, OutboxMessage


async def _scan(ctx, account_id: int, config: DetectionConfig) -> tuple[float, float, int]:
    watcher = MailboxWatcher(
        ctx,
        account_id=account_id,
        config=config,
        connect=None,  # type: ignore[arg-type]  # the scan is driven by hand below
        gate=asyncio.Semaphore(1),
    )
    mailbox = await connect_account(credentials_opener(ctx), account_id=account_id, config=config)
    try:
        await mailbox.examine("INBOX")  # open once so Dovecot has indexed the new mail
        wall, cpu = time.perf_counter(), time.process_time()
        recorded = await watcher.sync(mailbox)
        return time.perf_counter() - wall, time.process_time() - cpu, recorded
    finally:
        await mailbox.close()


def run(count: int = 10_000, *, rounds: int = 3) -> dict[str, float]:
    require_mailserver_or_exit()
    ensure_imapflow()
    user = create_user("bench-p2")
    try:
        return _run(user, count, rounds=rounds)
    finally:
        remove_users([user])


def _run(user: MailUser, count: int, *, rounds: int) -> dict[str, float]:
    prospects = [f"prospect{n}@example.com" for n in range(500)]
    config = DetectionConfig()
    with tempfile.TemporaryDirectory() as tmp, bench_app(Path(tmp)) as ctx:
        account_id = add_account(ctx, user)
        ids = add_sent(ctx, account_id=account_id, sender=user.email, to=prospects)
        fill_maildir(user, mailbox_mix(count, owner=user.email, sent_ids=ids, sent_to=prospects))
        cfg = Path(tmp) / "imapflow.json"
        settings = {
            "host": HOST,
            "port": IMAPS_PORT,
            "ca": CA_FILE,
            "user": user.email,
            "pass": user.password,
            "fields": [f.lower() for f in TRIAGE_FIELDS],
            "bodies": [],
            "limit": config.body_limit,
        }
        cfg.write_text(json.dumps(settings))
        _imapflow(cfg)  # warm-up: Dovecot indexes and caches the new mail for both clients
        # The machine is shared and noisy: alternate the two clients and keep each one's best.
        ours: list[tuple[float, float, int]] = []
        refs: list[dict[str, float]] = []
        for _ in range(rounds):
            _forget_scan(ctx)
            ours.append(asyncio.run(_scan(ctx, account_id, config)))
            with ctx.sessions() as session:
                settings["bodies"] = sorted(set(session.scalars(select(IncomingMessage.uid))))
            cfg.write_text(json.dumps(settings))
            refs.append(_imapflow(cfg))
        wall, cpu, recorded = min(ours)
        ref = min(refs, key=lambda r: r["seconds"])
        cpu = min(c for _, c, _ in ours)
        ref = {**ref, "cpu": min(r["cpu"] for r in refs)}
        bodies = cast(list[int], settings["bodies"])
    ours_rate, ref_rate = count / wall, count / ref["seconds"]
    print(f"P2 scan of a {count:,}-message INBOX over IMAPS (local Dovecot), best of {rounds}")
    print(f"{'client':<34}{'msgs/s':>10}{'msgs/CPU-s':>12}{'bodies':>8}")
    print(
        f"{'FluenzR watcher (+classify, DB)':<34}{ours_rate:>10,.0f}"
        f"{count / max(cpu, 1e-9):>12,.0f}{len(bodies):>8}"
    )
    print(
        f"{'imapflow ' + 'same fetch':<34}{ref_rate:>10,.0f}"
        f"{count / max(ref['cpu'], 1e-9):>12,.0f}{ref['bodies']:>8}"
    )
    print(
        f"ratio FluenzR / imapflow: {ours_rate / ref_rate:.2f} (wall), "
        f"{(count / max(cpu, 1e-9)) / (count / max(ref['cpu'], 1e-9)):.2f} (per CPU-s); "
        f"events recorded: {recorded}"
    )
    return {"ours": ours_rate, "imapflow": ref_rate}


def _forget_scan(ctx: AppContext) -> None:
    """Start the next round from scratch: no sync state, no recorded messages or events."""
    with transaction(ctx.sessions) as session:
        for model in (ImapSyncState, IncomingMessage, Event, RecipientState, Suppression):
            session.execute(delete(model))
        session.execute(
            update(OutboxMessage).values(status=SENT, reason=None)
        )  # stop-on-reply cancellations undone
        session.execute(update(Account).values(status="active", status_reason=None))


def _imapflow(cfg: Path) -> dict[str, float]:
    node = subprocess.run(
        ["node", str(HERE / "imapflow_fetch.mjs"), str(cfg)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return dict(json.loads(node.stdout.strip().splitlines()[-1]))


def require_mailserver_or_exit() -> None:
    try:
        require_mailserver()
    except BaseException as exc:  # pytest's skip/fail outcomes are BaseException
        raise SystemExit(f"mail servers not running: {exc}") from None
