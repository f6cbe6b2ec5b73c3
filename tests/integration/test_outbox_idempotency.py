"""Idempotency keys on enqueue (issue 10 §7): a retried request never queues a second message.

Service, REST API (real HTTP) and CLI, each on SQLite and PostgreSQL. Races run real threads on
real database connections; their assertions hold whatever the interleaving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fluenzr.core.secret import Secret
from fluenzr.errors import ConflictError, ValidationError
from fluenzr.services import idempotency, outbox
from fluenzr.services.account_config import AccountInput
from fluenzr.services.accounts import create_account
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.services.outbox import Enqueued, SendRequest
from fluenzr.storage.models import Workspace
from fluenzr.storage.models.idempotency import IdempotencyKey
from fluenzr.storage.models.outbox import OutboxMessage
from tests.e2e.server import Caller, admin, serve
from tests.integration.send_support import FakeClock, add_account
from tests.support.cli import Cli

KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"


@pytest.fixture
def account(app_any_db: AppContext) -> int:
    return add_account(
        app_any_db, email="ana@example.com", password="pw", port=2525, security="none"
    )


@pytest.fixture
def workspace(app_any_db: AppContext) -> int:
    return default_workspace_id(app_any_db.sessions)


def _request(account_id: int, **changes: object) -> SendRequest:
    base = SendRequest(account_id=account_id, to=["bob@example.org"], subject="Hola", text="Hola")
    return replace(base, **changes)  # type: ignore[arg-type]


def _messages(ctx: AppContext) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def _keys(ctx: AppContext) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(IdempotencyKey)) or 0


def _once(ctx: AppContext, workspace: int, request: SendRequest, key: str | None) -> Enqueued:
    return outbox.enqueue_once(ctx, workspace_id=workspace, request=request, idempotency_key=key)


def test_same_key_same_request_returns_the_first_message(
    app_any_db: AppContext, workspace: int, account: int
) -> None:
    first = _once(app_any_db, workspace, _request(account), KEY)
    again = _once(app_any_db, workspace, _request(account, to=("bob@example.org",)), KEY)
    quoted = _once(app_any_db, workspace, _request(account), f'"{KEY}"')  # RFC 9651 sf-string
    assert first.replayed is False and again.replayed is True and quoted.replayed is True
    assert first.view.id == again.view.id == quoted.view.id
    assert first.view.message_id == again.view.message_id
    assert _messages(app_any_db) == 1 and _keys(app_any_db) == 1
    # Without a key nothing changes: every call queues a message.
    outbox.enqueue(app_any_db, workspace_id=workspace, request=_request(account))
    assert _messages(app_any_db) == 2


def test_same_key_different_request_is_refused_and_writes_nothing(
    app_any_db: AppContext, workspace: int, account: int
) -> None:
    first = _once(app_any_db, workspace, _request(account), KEY)
    for changed in (
        _request(account, text="Hola otra vez"),
        _request(account, to=["carol@example.org"]),
        _request(account, stop_on_reply=True),
    ):
        with pytest.raises(ValidationError) as refused:
            _once(app_any_db, workspace, changed, KEY)
        assert refused.value.code == "idempotency_key_reused"
        assert refused.value.http_status == 422  # the draft's status for a reused key
        assert refused.value.params["field"] == "idempotency_key"
    assert _messages(app_any_db) == 1
    assert _once(app_any_db, workspace, _request(account), KEY).view.id == first.view.id


def test_keys_are_scoped_to_the_workspace(
    app_any_db: AppContext, workspace: int, account: int
) -> None:
    with app_any_db.sessions() as session:
        other = Workspace(name="Other")
        session.add(other)
        session.commit()
        other_id = other.id
    data = AccountInput(
        email="luis@example.com",
        smtp_host="127.0.0.1",
        smtp_port=2525,
        smtp_security="none",
        password=Secret("pw"),
        force=True,
    )
    other_account = create_account(app_any_db, workspace_id=other_id, data=data).id
    mine = _once(app_any_db, workspace, _request(account), KEY)
    theirs = _once(app_any_db, other_id, _request(other_account), KEY)
    assert theirs.replayed is False and theirs.view.id != mine.view.id
    # A key another workspace used tells this one nothing: not its message, not a 422.
    assert _once(app_any_db, other_id, _request(other_account), KEY).view.id == theirs.view.id
    assert _messages(app_any_db) == 2


def test_an_expired_key_queues_a_new_message(
    app_any_db: AppContext, workspace: int, account: int
) -> None:
    clock = FakeClock()
    app_any_db.clock = clock
    first = _once(app_any_db, workspace, _request(account), KEY)
    clock.advance(hours=23, minutes=59)
    assert _once(app_any_db, workspace, _request(account), KEY).view.id == first.view.id
    clock.advance(minutes=2)  # past the 24 h retention
    later = _once(app_any_db, workspace, _request(account, text="new"), KEY)
    assert later.replayed is False and later.view.id != first.view.id
    assert _messages(app_any_db) == 2 and _keys(app_any_db) == 1  # the old row was purged


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "x" * 256, '"x' + "y" * 300 + '"', "clé", "a\tb", "a\nb", '"unterminated', '"a"b"'],
)
def test_a_malformed_key_is_refused_before_any_write(
    app_any_db: AppContext, workspace: int, account: int, bad: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _once(app_any_db, workspace, _request(account), bad)
    assert refused.value.code == "idempotency_key_invalid"
    assert refused.value.params == {"field": "idempotency_key", "max": 255}
    assert _messages(app_any_db) == 0 and _keys(app_any_db) == 0


def test_the_longest_key_is_accepted(app_any_db: AppContext, workspace: int, account: int) -> None:
    key = "k" * idempotency.MAX_KEY_LENGTH
    assert _once(app_any_db, workspace, _request(account), key).replayed is False
    assert _once(app_any_db, workspace, _request(account), key).replayed is True


def test_concurrent_identical_requests_queue_one_message(
    app_any_db: AppContext, workspace: int, account: int
) -> None:
    threads = 6
    barrier = threading.Barrier(threads)
    results: list[Enqueued] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(_once(app_any_db, workspace, _request(account), KEY))
        except BaseException as exc:  # reported below, with its type
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, [type(e).__name__ for e in errors]
    assert len(results) == threads
    assert len({r.view.id for r in results}) == 1
    assert [r.replayed for r in results].count(False) == 1
    assert _messages(app_any_db) == 1 and _keys(app_any_db) == 1


def _wait_until_blocked(ctx: AppContext) -> None:
    """PostgreSQL: until a backend waits on a lock (bounded polling); SQLite: a short pause."""
    if ctx.engine.dialect.name != "postgresql":
        time.sleep(0.3)
        return
    for _ in range(200):
        with ctx.engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the second request never waited for the first")


@pytest.fixture
def held_claim(
    app_any_db: AppContext, workspace: int, account: int
) -> Iterator[tuple[int, Session]]:
    """A first request caught between writing its key row and committing."""
    first = outbox.enqueue(app_any_db, workspace_id=workspace, request=_request(account))
    session = app_any_db.sessions()
    session.add(
        IdempotencyKey(
            workspace_id=workspace,
            key=KEY,
            fingerprint=idempotency.fingerprint(_request(account)),
            outbox_id=first.id,
            created_at=app_any_db.clock.now(),
        )
    )
    session.flush()
    try:
        yield first.id, session
    finally:
        session.close()


def test_the_loser_of_a_race_reads_the_winners_message(
    app_any_db: AppContext, workspace: int, account: int, held_claim: tuple[int, Session]
) -> None:
    first_id, session = held_claim
    outcome: list[Enqueued] = []
    loser = threading.Thread(
        target=lambda: outcome.append(_once(app_any_db, workspace, _request(account), KEY))
    )
    loser.start()
    _wait_until_blocked(app_any_db)
    session.commit()
    loser.join(timeout=60)
    assert outcome and outcome[0].view.id == first_id and outcome[0].replayed is True
    assert _messages(app_any_db) == 1 and _keys(app_any_db) == 1


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_request_still_in_flight_is_409_then_retry_works(
    app_any_db: AppContext,
    workspace: int,
    account: int,
    held_claim: tuple[int, Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # PostgreSQL only: SQLite serialises writers, so a second request waits for the first.
    monkeypatch.setattr(idempotency, "IN_FLIGHT_WAIT_MS", 200)
    first_id, session = held_claim
    with pytest.raises(ConflictError) as busy:
        _once(app_any_db, workspace, _request(account), KEY)
    assert busy.value.code == "idempotency_key_in_flight" and busy.value.http_status == 409
    assert _messages(app_any_db) == 1  # the waiting request's message was rolled back
    session.rollback()  # the first request failed after all
    retried = _once(app_any_db, workspace, _request(account), KEY)
    assert retried.replayed is False and retried.view.id != first_id


# --- REST API over real HTTP -------------------------------------------------------------


@pytest.fixture
def api(app_any_db: AppContext) -> Iterator[tuple[str, Caller]]:
    caller = admin(app_any_db)
    with serve(app_any_db, sending=False) as url:
        yield url, caller


def _post(http: httpx.Client, body: dict[str, object], key: str | None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return http.post("/api/v1/outbox", json=body, headers=headers)


def test_api_idempotency_key(app_any_db: AppContext, api: tuple[str, Caller]) -> None:
    url, caller = api
    account_id = add_account(
        app_any_db, email="ana@example.com", password="pw", port=2525, security="none"
    )
    body: dict[str, object] = {
        "account_id": account_id,
        "to": ["bob@example.org"],
        "subject": "Hola",
        "text": "Hola Bob",
    }
    headers = {**caller.headers, "Accept-Language": "en"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        first = _post(http, body, KEY)
        assert first.status_code == 201, first.text
        assert "idempotent-replayed" not in first.headers
        # Same key, same body (other key order): the first message, same status code.
        again = _post(http, dict(reversed(list(body.items()))), KEY)
        assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["message_id"] == first.json()["message_id"]

        reused = _post(http, {**body, "text": "Other text"}, KEY)
        assert reused.status_code == 422
        assert reused.json()["code"] == "idempotency_key_reused"
        assert reused.json()["field"] == "idempotency_key" and reused.json()["hint"]

        for bad in ("x" * 256, "", '"open'):
            malformed = _post(http, body, bad)
            assert malformed.status_code == 422, bad
            assert malformed.json()["code"] == "idempotency_key_invalid"

        results: list[httpx.Response] = []
        barrier = threading.Barrier(4)

        def post() -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=30) as own:
                barrier.wait()
                results.append(_post(own, {**body, "subject": "Race"}, "race-key"))

        workers = [threading.Thread(target=post) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert [r.status_code for r in results] == [201] * 4
        assert len({r.json()["id"] for r in results}) == 1
    assert _messages(app_any_db) == 2


# --- CLI ---------------------------------------------------------------------------------


def test_cli_send_with_idempotency_key_twice_queues_once(
    home: Path, db_url: str, app_any_db: AppContext, account: int
) -> None:
    cli = Cli(home=home, database_url=db_url)
    args = ["send", "--account", str(account), "--to", "bob@example.org", "--subject", "Hola"]
    args += ["--text", "Hola Bob", "--idempotency-key", KEY, "--json"]
    first = cli(*args)
    assert first.exit_code == 0, first.stdout + first.stderr
    again = cli(*args)
    assert again.exit_code == 0 and again.json()["id"] == first.json()["id"]
    assert _messages(app_any_db) == 1

    changed = cli(*[a if a != "Hola Bob" else "Otro texto" for a in args])
    assert changed.exit_code == 2
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    bad = cli(*[a if a != KEY else "x" * 300 for a in args])
    assert bad.exit_code == 2 and bad.json()["error"]["code"] == "idempotency_key_invalid"
    assert _messages(app_any_db) == 1
