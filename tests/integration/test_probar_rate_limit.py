"""Probar runs connect where a member says: a workspace may start only so many per minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from fluenzr.config import load_settings
from fluenzr.core.secret import Secret
from fluenzr.errors import RateLimitedError
from fluenzr.services import jobs
from fluenzr.services.account_config import AccountInput
from fluenzr.services.accounts import create_account
from fluenzr.services.context import AppContext, Clock, default_workspace_id, open_app
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Workspace
from tests.e2e.server import admin, serve


class ManualClock(Clock):
    def __init__(self) -> None:
        self.at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def limited(home: Path, db_url: str) -> Iterator[AppContext]:
    ctx = open_app(load_settings(home=home, database_url=db_url, probar_rate_limit=3))
    ctx.clock = ManualClock()
    yield ctx
    ctx.close()


def _account(ctx: AppContext, workspace_id: int, email: str = "ana@example.com") -> int:
    data = AccountInput(
        email=email, smtp_host="smtp.example.com", password=Secret("pw"), smtp_port=587
    )
    return create_account(ctx, workspace_id=workspace_id, data=data).id


def test_probar_is_rate_limited_per_workspace(limited: AppContext) -> None:
    clock = limited.clock
    assert isinstance(clock, ManualClock)
    workspace = default_workspace_id(limited.sessions)
    # One account per run: a second run of an account while its first is pending joins it.
    first = [_account(limited, workspace, f"ana{n}@example.com") for n in range(5)]
    for account in first[:3]:
        jobs.enqueue_probar(limited, workspace_id=workspace, account_id=account)
        clock.at += timedelta(seconds=5)
    assert jobs.enqueue_probar(limited, workspace_id=workspace, account_id=first[0]).account_id
    with pytest.raises(RateLimitedError) as caught:
        jobs.enqueue_probar(limited, workspace_id=workspace, account_id=first[3])
    error = caught.value
    assert (error.code, error.http_status) == ("probar_rate_limited", 429)
    assert error.params == {"limit": 3, "retry_after": 46}  # the first run leaves the window
    assert "46" in error.hint("en") and "3" in error.message("es")
    # Another workspace has its own budget.
    with transaction(limited.sessions) as session:
        other = Workspace(name="Other")
        session.add(other)
        session.flush()
        other_id = other.id
    jobs.enqueue_probar(limited, workspace_id=other_id, account_id=_account(limited, other_id))
    # A minute after the first run, one more is allowed, and only one.
    clock.at += timedelta(seconds=46)
    jobs.enqueue_probar(limited, workspace_id=workspace, account_id=first[3])
    with pytest.raises(RateLimitedError):
        jobs.enqueue_probar(limited, workspace_id=workspace, account_id=first[4])


def test_a_double_click_joins_the_pending_run(limited: AppContext) -> None:
    workspace = default_workspace_id(limited.sessions)
    account = _account(limited, workspace)
    one = jobs.enqueue_probar(limited, workspace_id=workspace, account_id=account)
    two = jobs.enqueue_probar(limited, workspace_id=workspace, account_id=account)
    assert one.id == two.id  # and it does not count against the budget twice


def test_the_api_answers_429_with_the_code(app: AppContext) -> None:
    app.settings = app.settings.model_copy(update={"probar_rate_limit": 1})
    caller = admin(app)
    account = _account(app, caller.workspace_id)
    other = _account(app, caller.workspace_id, "otra@example.com")
    with (
        serve(app, sending=False) as url,
        httpx.Client(base_url=url, headers=caller.headers, timeout=20) as http,
    ):
        first = http.post(f"/api/v1/accounts/{account}/test")
        assert first.status_code in (200, 201, 202), first.text
        again = http.post(f"/api/v1/accounts/{account}/test")  # joins the pending run
        assert again.status_code in (200, 201, 202) and again.json()["id"] == first.json()["id"]
        second = http.post(f"/api/v1/accounts/{other}/test")
        assert second.status_code == 429
        assert second.json()["code"] == "probar_rate_limited"
        assert second.json()["hint"]
