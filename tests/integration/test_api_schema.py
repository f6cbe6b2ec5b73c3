"""schemathesis against /openapi.json over real HTTP: generated requests never get a 500.

Bounded: a few examples per operation (CI budget), with a seeded account so id paths hit rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from fluenzr.config import load_settings
from fluenzr.core.secret import Secret
from fluenzr.server import create_app
from fluenzr.services import accounts
from fluenzr.services.account_config import AccountInput
from fluenzr.services.context import AppContext, open_app
from tests.e2e.server import Caller, admin, serve

MAX_EXAMPLES = 8
SEED_PASSWORD = "Zq9-seed-Secret-7781"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Caller]]:
    home: Path = tmp_path_factory.mktemp("schema-home")
    ctx = open_app(load_settings(home=home, database_url=f"sqlite:///{home / 'fluenzr.db'}"))
    caller = admin(ctx)
    accounts.create_account(
        ctx,
        workspace_id=caller.workspace_id,
        data=AccountInput(
            email="seed@example.com", smtp_host="smtp.example.com", password=Secret(SEED_PASSWORD)
        ),
    )
    try:
        with serve(ctx, sending=False) as url:
            yield url, caller
    finally:
        ctx.close()


def _spec() -> dict[str, Any]:
    """The OpenAPI document, built without a database (the app only stores its context)."""
    return create_app(cast(AppContext, None), sending=False).openapi()


schema = schemathesis.openapi.from_dict(_spec())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: Any, live: tuple[str, Caller]) -> None:
    url, caller = live
    response = case.call(base_url=url, headers=caller.headers, timeout=20)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    # No stored secret comes back: the only "password" words are the *_set flags.
    assert SEED_PASSWORD not in response.text
