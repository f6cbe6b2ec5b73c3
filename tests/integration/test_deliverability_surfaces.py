"""`fluenzr domains check`, `GET /api/v1/domains/{domain}/check`, the account page's summary and
the daily re-check — DNS from dnslib's authoritative server on 127.0.0.1 (FLUENZR_DNS_SERVERS)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from fluenzr.config import load_settings
from fluenzr.core.secret import Secret
from fluenzr.services.accounts import AccountInput, create_account
from fluenzr.services.context import AppContext, default_workspace_id, open_app
from fluenzr.services.domain_checks import cached_report, recheck_due
from fluenzr.storage.models import Event
from tests.e2e.server import admin, serve
from tests.support.cli import Cli
from tests.support.deliverability import zone
from tests.support.zone_server import ZoneServer

P_NONE = "v=DMARC1; p=none; rua=mailto:d@good.test"


@pytest.fixture
def dns() -> Iterator[ZoneServer]:
    with ZoneServer(zone(dmarc=P_NONE) + zone("nospf.test", spf=None, ptr=None)) as server:
        yield server


def test_cli_domains_check(home: Path, dns: ZoneServer) -> None:
    cli = Cli(home=home)
    env = {"FLUENZR_DNS_SERVERS": f"127.0.0.1:{dns.port}"}
    result = cli("domains", "check", "good.test", "--json", env=env)
    assert result.exit_code == 0, result.stderr  # a warning is not an error
    data = result.json()
    assert data["domain"] == "good.test"
    first = data["findings"][0]
    assert (first["severity"], first["code"]) == ("warning", "dmarc_policy_none")
    assert data["findings"][0]["record"] == P_NONE
    assert data["score"] == 92

    failing = cli("domains", "check", "ana@NoSPF.test", env=env)
    assert failing.exit_code == 1
    assert "Entregabilidad de nospf.test" in failing.stdout
    assert "no tiene registro SPF" in failing.stdout

    invalid = cli("domains", "check", "not a domain", "--json", env=env)
    assert invalid.exit_code == 2
    assert "domain_invalid" in invalid.stdout + invalid.stderr
    assert "Traceback" not in invalid.stdout + invalid.stderr


def test_bad_dns_server_setting_is_a_clear_error(home: Path) -> None:
    result = Cli(home=home)("domains", "check", "good.test", env={"FLUENZR_DNS_SERVERS": "x.y"})
    assert result.exit_code == 2
    assert "FLUENZR_DNS_SERVERS" in result.stdout + result.stderr


@pytest.fixture
def dns_app(home: Path, dns: ZoneServer) -> Iterator[AppContext]:
    ctx = open_app(load_settings(home=home, dns_servers=f"127.0.0.1:{dns.port}"))
    yield ctx
    ctx.close()


def test_api_domain_check(dns_app: AppContext) -> None:
    caller = admin(dns_app)
    with serve(dns_app, sending=False) as url:
        headers = {**caller.headers, "Accept-Language": "fr"}
        with httpx.Client(base_url=url, headers=headers, timeout=20) as http:
            found = http.get("/api/v1/domains/good.test/check")
            assert found.status_code == 200, found.text
            body = found.json()
            assert body["findings"][0]["code"] == "dmarc_policy_none"
            assert body["findings"][0]["message"].startswith("La politique DMARC")
            assert "quarantine" in body["findings"][0]["fix"]
            again = http.get("/api/v1/domains/GOOD.test/check").json()
            assert again["checked_at"] == body["checked_at"]  # shared result, checked once
            fresh = http.get("/api/v1/domains/good.test/check?refresh=true").json()
            assert fresh["checked_at"] != body["checked_at"]
            bad = http.get("/api/v1/domains/a..b/check")
            assert bad.status_code == 422 and bad.json()["code"] == "domain_invalid"
        assert httpx.get(f"{url}/api/v1/domains/good.test/check").status_code == 401


def _account(ctx: AppContext, email: str) -> int:
    data = AccountInput(
        email=email,
        display_name="Ana",
        smtp_host="smtp.good.test",
        smtp_port=587,
        smtp_security="starttls",
        username=email,
        password=Secret("pw-123456"),
    )
    return create_account(ctx, workspace_id=default_workspace_id(ctx.sessions), data=data).id


class _Later:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at


async def test_daily_recheck_records_a_change_once_per_domain(
    dns_app: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("email_validator.TEST_ENVIRONMENT", True)
    _account(dns_app, "ana@good.test")
    _account(dns_app, "luis@good.test")
    assert await recheck_due(dns_app) == []  # first check: stored, nothing to compare
    assert await recheck_due(dns_app) == []  # fresh: not checked again
    first = cached_report(dns_app, "good.test")
    assert first is not None

    fixed = zone(dmarc="v=DMARC1; p=reject; rua=mailto:d@good.test")
    later = _Later(dt.datetime.now(dt.UTC) + dt.timedelta(hours=25))
    monkeypatch.setattr(dns_app, "clock", later)
    with ZoneServer(fixed) as server:
        assert await recheck_due(dns_app, lookup=server.lookup()) == ["good.test"]
    with dns_app.sessions() as session:
        events = session.scalars(select(Event).where(Event.type == "domain_check_changed")).all()
    assert len(events) == 1  # one domain, two accounts, one workspace: one event
    data = json.loads(events[0].data)
    assert (data["domain"], data["previous_score"], data["score"]) == ("good.test", 92, 100)


def test_account_page_shows_the_summary(
    dns_app: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    monkeypatch.setattr("email_validator.TEST_ENVIRONMENT", True)
    account_id = _account(dns_app, "ana@good.test")
    asyncio.run(recheck_due(dns_app))
    caller = admin(dns_app)
    from tests.e2e.server import ADMIN_EMAIL, ADMIN_PASSWORD

    with serve(dns_app, sending=False) as url, httpx.Client(base_url=url, timeout=20) as http:
        login = http.get("/login")
        csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
        http.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf": csrf})
        page = http.get(f"/accounts/{account_id}")
        assert page.status_code == 200, page.text[:500]
        assert "Entregabilidad" in page.text
        assert "Puntuación 92/100" in page.text
        assert "La política DMARC es «none»" in page.text
    assert caller.user_id
