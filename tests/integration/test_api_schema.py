"""schemathesis against /openapi.json over real HTTP: generated requests never get a 500.

Bounded: a few examples per operation (CI budget), with a seeded account so id paths hit rows.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from fluenzr.config import load_settings
from fluenzr.core.secret import Secret
from fluenzr.server import create_app
from fluenzr.services import accounts, outbox
from fluenzr.services.account_config import AccountInput
from fluenzr.services.context import AppContext, open_app
from fluenzr.storage.engine import transaction
from fluenzr.storage.events import record_event
from tests.e2e.server import Caller, admin, serve

MAX_EXAMPLES = 8
SEED_PASSWORD = "Zq9-seed-Secret-7781"


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory,
    _empty_dns: int,
    _migrated_templates: dict[str, str],
) -> Iterator[tuple[str, Caller]]:
    home: Path = tmp_path_factory.mktemp("schema-home")
    # A copy of the session's migrated database: no migrations for this module.
    shutil.copyfile(_migrated_templates["sqlite"], home / "fluenzr.db")
    # Module scope: aimed at the empty local DNS server here, not by the per-test environment.
    settings = load_settings(
        home=home,
        database_url=f"sqlite:///{home / 'fluenzr.db'}",
        dns_servers=f"127.0.0.1:{_empty_dns}",
    )
    ctx = open_app(settings)
    caller = admin(ctx)
    seeded = accounts.create_account(
        ctx,
        workspace_id=caller.workspace_id,
        data=AccountInput(
            email="seed@example.com", smtp_host="smtp.example.com", password=Secret(SEED_PASSWORD)
        ),
    )
    # A message and a reply to it, so /messages/{id} and /replies/{id} paths hit rows too.
    sent = outbox.enqueue(
        ctx,
        workspace_id=caller.workspace_id,
        request=outbox.SendRequest(
            account_id=seeded.id, to=["bob@example.org"], subject="Seed", text="Hola"
        ),
    )
    with transaction(ctx.sessions) as session:
        record_event(
            session,
            workspace_id=caller.workspace_id,
            type="reply",
            account_id=seeded.id,
            message_id=sent.id,
            recipient="bob@example.org",
            data={"from": "bob@example.org", "text": "Sí"},
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
    if case.path.endswith("/events"):
        # A Server-Sent Events stream stays open while its job runs (up to minutes): the status
        # line is what can be a 500, so only the headers are read (Schemathesis' own call
        # would read the whole body).
        kwargs = case.as_transport_kwargs(base_url=url, headers=caller.headers)
        with requests.request(**kwargs, timeout=20, stream=True) as stream:
            assert stream.status_code < 500, (case.method, case.path)
        return
    response = case.call(base_url=url, headers=caller.headers, timeout=20)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    # No stored secret comes back: the only "password" words are the *_set flags.
    assert SEED_PASSWORD not in response.text
