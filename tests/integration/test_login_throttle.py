"""Login throttling over real HTTP: a growing lockout per (account, client address), a ceiling per
address, the right password from another address never locked out by an attacker, and parallel
wrong attempts all counted (no guess slips past the check) — on SQLite and PostgreSQL.

Client addresses are real: each client binds its own loopback source address (127.0.0.x)."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from fluenzr.services import login_throttle
from fluenzr.services.context import AppContext
from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD, admin, serve


@dataclass
class ManualClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock(app_any_db: AppContext) -> ManualClock:
    manual = ManualClock(datetime.now(UTC))
    app_any_db.clock = manual  # type: ignore[assignment]
    return manual


@pytest.fixture
def base_url(app_any_db: AppContext, clock: ManualClock) -> Iterator[str]:
    admin(app_any_db)
    with serve(app_any_db, sending=False) as url:
        yield url


def _client(url: str, source: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=url, transport=transport, timeout=30)


def _login(http: httpx.Client, email: str, password: str) -> int:
    page = http.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    reply = http.post("/login", data={"csrf": found.group(1), "email": email, "password": password})
    return reply.status_code


def test_attacker_elsewhere_never_locks_out_the_right_password(
    base_url: str, app_any_db: AppContext
) -> None:
    with _client(base_url, "127.0.0.2") as attacker:
        codes = [_login(attacker, ADMIN_EMAIL, "wrong-password") for _ in range(50)]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
        # The attacker's own (account, address) pair is locked, even for the right password.
        assert _login(attacker, ADMIN_EMAIL, ADMIN_PASSWORD) == 429
    with _client(base_url, "127.0.0.3") as owner:
        assert _login(owner, ADMIN_EMAIL, ADMIN_PASSWORD) == 303
    assert login_throttle.failures(app_any_db, f"acct:{ADMIN_EMAIL}|127.0.0.2") == 5


def test_lockout_grows_with_each_failure(
    base_url: str, app_any_db: AppContext, clock: ManualClock
) -> None:
    with _client(base_url, "127.0.0.4") as http:
        assert [_login(http, ADMIN_EMAIL, "wrong-password") for _ in range(5)] == [401] * 5
        assert _login(http, ADMIN_EMAIL, ADMIN_PASSWORD) == 429  # locked 30 s
        clock.at += timedelta(seconds=31)
        assert _login(http, ADMIN_EMAIL, "wrong-password") == 401  # 6th failure: locked 60 s
        clock.at += timedelta(seconds=31)
        assert _login(http, ADMIN_EMAIL, ADMIN_PASSWORD) == 429  # still locked
        clock.at += timedelta(seconds=30)
        assert _login(http, ADMIN_EMAIL, "wrong-password") == 401  # 7th: locked 120 s
        clock.at += timedelta(seconds=119)
        assert _login(http, ADMIN_EMAIL, ADMIN_PASSWORD) == 429
        clock.at += timedelta(seconds=2)
        assert _login(http, ADMIN_EMAIL, ADMIN_PASSWORD) == 303
    # The right password clears the pair: the next mistakes start again from zero.
    assert login_throttle.failures(app_any_db, f"acct:{ADMIN_EMAIL}|127.0.0.4") == 0
    assert login_throttle.failures(app_any_db, "client:127.0.0.4") == 7


def test_ceiling_per_client_address(
    base_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real ceiling is 100 failures; 12 keeps the test's password hashing short.
    monkeypatch.setattr(
        login_throttle, "CLIENT", dataclasses.replace(login_throttle.CLIENT, free=11)
    )
    ceiling = login_throttle.CLIENT.free + 1
    with _client(base_url, "127.0.0.5") as spray:
        # One wrong password for each of many accounts: no single pair is locked...
        codes = [_login(spray, f"user{i}@example.com", "wrong-password") for i in range(ceiling)]
        assert codes == [401] * ceiling
        # ...but the address is, for every account, even with the right password.
        assert _login(spray, ADMIN_EMAIL, ADMIN_PASSWORD) == 429
        clock.at += login_throttle.CLIENT.base + timedelta(seconds=1)
        assert _login(spray, ADMIN_EMAIL, ADMIN_PASSWORD) == 303
    with _client(base_url, "127.0.0.6") as other:
        assert _login(other, ADMIN_EMAIL, ADMIN_PASSWORD) == 303


def _parallel(base_url: str, source: str, emails: list[str]) -> list[int]:
    results: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(len(emails))

    def one(email: str) -> None:
        with _client(base_url, source) as http:
            page = http.get("/login")
            found = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert found
            start.wait()
            data = {"csrf": found.group(1), "email": email, "password": "wrong-password"}
            code = http.post("/login", data=data).status_code
        with lock:
            results.append(code)

    threads = [threading.Thread(target=one, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_parallel_wrong_attempts_are_all_counted(base_url: str, app_any_db: AppContext) -> None:
    # Twelve guesses at once on one account: exactly five get checked, none slips past.
    codes = _parallel(base_url, "127.0.0.7", [ADMIN_EMAIL] * 12)
    assert sorted(codes) == [401] * 5 + [429] * 7
    assert login_throttle.failures(app_any_db, f"acct:{ADMIN_EMAIL}|127.0.0.7") == 5
    # Twelve guesses at once on twelve accounts: every one lands on the address's count.
    spread = _parallel(base_url, "127.0.0.8", [f"p{i}@example.com" for i in range(12)])
    assert spread == [401] * 12
    assert login_throttle.failures(app_any_db, "client:127.0.0.8") == 12
