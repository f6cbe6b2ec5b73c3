"""Hostile mail in a real Dovecot mailbox (SQLite and PostgreSQL): 5,000 nested multiparts, an
oversized message, one whose classification raises and one whose recording fails arrive before
a normal reply. Each poison message becomes an ``unparseable`` event, the reply is detected and
the mailbox position moves past all of them."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from sqlalchemy import select

from fluenzr.detection.message_kinds import Classification
from fluenzr.detection.offloop import default_classifier
from fluenzr.detection.watcher import run_detection
from fluenzr.services.context import AppContext
from fluenzr.services.runtime import credentials_opener
from fluenzr.storage.models import Event
from fluenzr.storage.models.detection import ImapSyncState
from tests.integration.test_detect_imap import (
    FAST,
    _account,
    _reply,
    _send,
    _test_domains,  # noqa: F401 - autouse: .test addresses, the mail servers
)
from tests.support.mailservers import MailUser, create_user, deliver, list_messages

pytestmark = [pytest.mark.mailserver]
CONFIG = replace(FAST, max_message_bytes=1_000_000)


def _nested(levels: int, *, head: str) -> bytes:
    out = [head, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n']
    for level in range(1, levels):
        out.append(f'--b{level - 1}\r\nContent-Type: multipart/mixed; boundary="b{level}"\r\n\r\n')
    out.append(f"--b{levels - 1}\r\nContent-Type: text/plain\r\n\r\nhi\r\n")
    out.extend(f"--b{level}--\r\n" for level in range(levels - 1, -1, -1))
    return "".join(out).encode()


def _head(sender: str, to: str, original: str, subject: str = "Re: Quick question") -> str:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"In-Reply-To: <{original}>\r\nReferences: <{original}>\r\n"
    )


NORMAL = default_classifier(CONFIG)


async def _all_delivered(user: MailUser, count: int) -> list[int]:
    """Postfix hands mail to Dovecot asynchronously: wait until ``count`` are in the INBOX."""
    for _ in range(200):
        uids = [m.uid for m in list_messages(user)]
        if len(uids) >= count:
            return uids
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {len(uids)} of {count} messages arrived")


def _poisoned(raw: bytes, own: frozenset[str]) -> Classification:
    """The real classifier, except on a marker header: a code path that raises."""
    if b"X-Poison:" in raw:
        raise RecursionError("a code path tripped by this header")
    return NORMAL(raw, own)


async def test_poison_messages_are_quarantined_and_the_reply_still_detected(
    app_any_db: AppContext,
) -> None:
    ctx = app_any_db
    postgres = ctx.engine.dialect.name == "postgresql"
    alice, bob = create_user("det-hostile"), create_user("det-hostile-b")
    account_id = _account(ctx, alice)
    sent = await _send(ctx, alice, account_id, bob.email)
    head = _head(bob.email, alice.email, sent.message_id)
    poison = [
        _nested(5000, head=head),
        (head + "\r\n").encode()
        + (b"y" * 998 + b"\r\n") * 1200,  # 1.2 MB: over max_message_bytes, never fetched
        (head + "X-Poison: 1\r\n\r\nclassifying me raises\r\n").encode(),
        # A NUL in a decoded header: PostgreSQL refuses to store it (the recording fails there).
        (
            _head(bob.email, alice.email, sent.message_id, "=?utf-8?q?Re=3A_a=00b?=") + "\r\nx\r\n"
        ).encode(),
    ]
    for raw in poison:
        await deliver(alice.email, raw, sender=bob.email)
    await deliver(
        alice.email, _reply(sent, sender=bob, to=alice, body="Yes, call me."), sender=bob.email
    )
    uids = await _all_delivered(alice, 5)

    await run_detection(
        ctx,
        open_credentials=credentials_opener(ctx),
        until_idle=True,
        config=CONFIG,
        classifier=_poisoned,
    )

    with ctx.sessions() as session:
        events = list(session.scalars(select(Event).order_by(Event.id)))
        state = session.get(ImapSyncState, (account_id, "INBOX"))
    replies = [e for e in events if e.type == "reply"]
    assert any("call me" in e.data and e.message_id == sent.id for e in replies)
    reasons = sorted(json.loads(e.data)["reason"] for e in events if e.type == "unparseable")
    expected = ["classify_error", "mime_depth", "too_large"]
    assert reasons == sorted([*expected, "processing_error"] if postgres else expected)
    assert len(replies) == (1 if postgres else 2)
    for event in events:
        if event.type == "unparseable":
            data = json.loads(event.data)
            assert data["uid"] in uids and "call me" not in event.data and len(event.data) < 500
    assert state is not None and state.last_uid >= max(uids)
    assert state.last_error is None

    # Exactly once: the next pass finds nothing new to record.
    await run_detection(
        ctx,
        open_credentials=credentials_opener(ctx),
        until_idle=True,
        config=CONFIG,
        classifier=_poisoned,
    )
    with ctx.sessions() as session:
        assert len(session.scalars(select(Event)).all()) == len(events)
