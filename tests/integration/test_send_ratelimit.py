"""The real Postfix anvil limit (port 10588: 3 messages per 20 s per client, then
``450 4.7.1 too much mail``): the account pauses, nothing fails, and it resumes by itself."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from fluenzr.core.clock import Clock
from fluenzr.services.context import AppContext
from fluenzr.storage.base import aware
from fluenzr.storage.models import Account, Event
from tests.integration.send_support import add_account, enqueue, run_until_idle, statuses
from tests.support.mailservers import LIMITED_PORT, ca_pem, create_user, list_messages

# Every test of port 10588's anvil limit shares one xdist worker: the limit counts per client
# address (127.0.0.1), so two at once would spend each other's allowance.
pytestmark = [pytest.mark.mailserver, pytest.mark.slow, pytest.mark.xdist_group("postfix-anvil")]


class ShiftedClock(Clock):
    """Real time plus an offset the test moves forward (Postfix's anvil runs on real time)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.mark.timeout(150)
def test_anvil_limit_pauses_then_resumes(mailserver: None, app: AppContext) -> None:
    clock = ShiftedClock()
    app.clock = clock
    sender, rcpt = create_user("anvil"), create_user("anvil-rcpt")
    account_id = add_account(
        app,
        email=sender.email,
        password=sender.password,
        port=LIMITED_PORT,
        security="starttls",
        smtp_ca_pem=ca_pem(),
        imap_ca_pem=ca_pem(),
    )
    ids = [enqueue(app, account_id, rcpt.email, subject=f"n{i}").id for i in range(6)]

    run_until_idle(app)
    with app.sessions() as session:
        account = session.get(Account, account_id)
        assert account is not None
        assert (account.status, account.status_reason) == ("paused", "sending_limit")
        assert "too much mail" in json.loads(account.last_error or "{}")["detail"]
        until = aware(account.paused_until)
        assert until is not None and until > clock.now()
    counts = statuses(app)
    assert counts.get("failed", 0) == 0 and counts.get("deferred", 0) == 0
    assert counts.get("queued", 0) >= 3  # at most 3 a minute went through

    deadline = time.monotonic() + 120
    while statuses(app).get("sent", 0) < len(ids) and time.monotonic() < deadline:
        with app.sessions() as session:
            account = session.get(Account, account_id)
            assert account is not None
            paused_until = aware(account.paused_until)
        if paused_until is not None and paused_until > clock.now():
            clock.offset += paused_until - clock.now() + timedelta(seconds=1)
        run_until_idle(app)
        time.sleep(3)  # anvil's window is real time

    assert statuses(app) == {"sent": len(ids)}
    with app.sessions() as session:
        types = [e.type for e in session.scalars(select(Event).order_by(Event.id))]
    assert "account_paused" in types and "account_resumed" in types
    subjects = sorted(m.subject or "" for m in list_messages(rcpt))
    assert subjects == sorted(f"n{i}" for i in range(6))
