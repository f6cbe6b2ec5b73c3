"""Deliverability through Probar: the real local Postfix (signing with Debian's OpenDKIM milter
for dkim-*@fluenzr.test, not for other senders) and Dovecot, DNS from dnslib's authoritative
server on 127.0.0.1 serving fluenzr.test — the test mail is read back and its evidence checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import email_validator
import pytest
from sqlalchemy import select

from fluenzr.core.endpoints import Security
from fluenzr.diagnose.greeting_probe import GreetingProbe
from fluenzr.diagnose.probar import ProbarSeams
from fluenzr.diagnose.report import ProbarReport
from fluenzr.services.account_probar import run_probar
from fluenzr.services.accounts import create_account
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.services.domain_checks import account_summary, cached_report
from fluenzr.storage.models.domain_checks import DomainCheck
from tests.support.deliverability import zone
from tests.support.mailservers import (
    IMAPS_PORT,
    SUBMISSION_PORT,
    MailUser,
    create_user,
    dkim_public_record,
    require_dkim,
)
from tests.support.zone_server import ZoneServer

pytestmark = pytest.mark.mailserver

GOOD = {
    "spf": "v=spf1 ip4:127.0.0.1 -all",
    "dmarc": "v=DMARC1; p=reject; rua=mailto:d@fluenzr.test",
}


@pytest.fixture(autouse=True)
def _servers(monkeypatch: pytest.MonkeyPatch, mailserver: None) -> None:
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)
    require_dkim()


def fluenzr_zone(**overrides: Any) -> str:
    options: dict[str, Any] = {
        **GOOD,
        "dkim_keys": {"fz1": dkim_public_record()},
        "ptr": "mail.fluenzr.test",
    }
    options.update(overrides)
    return zone("fluenzr.test", **options)


@pytest.fixture
def dns() -> Iterator[ZoneServer]:
    with ZoneServer(fluenzr_zone()) as server:
        yield server


def seams(server: ZoneServer) -> ProbarSeams:
    lookup = server.lookup()
    return ProbarSeams(
        lookup=lookup,
        probe=GreetingProbe(lookup=lookup, timeout=1.0),
        smtp_timeout=5.0,
        imap_timeout=5.0,
        test_mail_wait=10.0,
        mismatch_after=0.5,
        standard_ports=((SUBMISSION_PORT, Security.STARTTLS),),
        standard_imap_ports=((IMAPS_PORT, Security.SSL),),
        deliverability=True,
    )


def add_account(app: AppContext, user: MailUser) -> int:
    data = user.account_input(display_name="Ana Entregable", username=user.email, force=True)
    return create_account(app, workspace_id=default_workspace_id(app.sessions), data=data).id


async def probar(app: AppContext, server: ZoneServer, user: MailUser) -> ProbarReport:
    account_id = add_account(app, user)
    return await run_probar(
        app,
        account_id=account_id,
        workspace_id=default_workspace_id(app.sessions),
        seams=seams(server),
    )


def deliverability(report: ProbarReport) -> dict[str, tuple[str, str | None, str | None]]:
    return {
        s.name: (s.status.value, s.severity, s.code)
        for s in report.steps
        if s.name.startswith("deliv_")
    }


async def test_well_configured_domain_is_all_green_with_the_evidence(
    app: AppContext, dns: ZoneServer
) -> None:
    report = await probar(app, dns, create_user("dkim"))
    assert report.ok, report.to_dict()
    steps = deliverability(report)
    assert steps == {
        "deliv_mx": ("ok", "ok", None),
        "deliv_spf": ("ok", "ok", None),
        "deliv_dmarc": ("ok", "ok", None),
        "deliv_dkim": ("ok", "ok", None),
        "deliv_alignment": ("ok", "ok", None),
        "deliv_rdns": ("ok", "ok", None),
        "deliv_tls": ("ok", "ok", None),
        "deliv_auth_results": ("skipped", None, None),  # the test Postfix adds none
        "deliv_unsubscribe": ("skipped", None, None),  # Probar's mail has no List-Unsubscribe-Post
        "deliv_dnsbl": ("skipped", None, None),  # off by default
    }
    details = {s.name: s.detail for s in report.steps}
    assert details["deliv_dkim"] == "d=fluenzr.test s=fz1, rsa-2048"  # OpenDKIM's real signature
    assert details["deliv_rdns"] == "127.0.0.1 → mail.fluenzr.test"
    assert "esmtpsa" in details["deliv_tls"]
    assert details["deliv_spf"] == "v=spf1 ip4:127.0.0.1 -all"
    data = report.to_dict()
    assert data["deliverability"]["score"] == 100
    assert "warnings" not in data
    assert cached_report(app, "fluenzr.test") is not None  # shared domain result stored


async def test_unsigned_account_gets_exactly_the_dkim_error(
    app: AppContext, dns: ZoneServer
) -> None:
    report = await probar(app, dns, create_user("plain"))
    assert report.ok  # a deliverability finding never fails the connection test
    bad = {k: v for k, v in deliverability(report).items() if v[0] not in ("ok", "skipped")}
    assert bad == {"deliv_dkim": ("warning", "error", "dkim_unsigned")}
    [step] = [s for s in report.steps if s.name == "deliv_dkim"]
    assert step.hint and "DKIM" in step.hint


@pytest.mark.parametrize(
    ("overrides", "step", "code"),
    [
        ({"ptr": None}, "deliv_rdns", "rdns_missing"),
        ({"ptr": "other.fluenzr.test", "mail_a": "192.0.2.9"}, "deliv_rdns", "rdns_mismatch"),
        ({"spf": None}, "deliv_spf", "spf_missing"),
        (
            {"dmarc": "v=DMARC1; p=none; rua=mailto:d@fluenzr.test"},
            "deliv_dmarc",
            "dmarc_policy_none",
        ),
        ({"dkim_keys": {}}, "deliv_dkim", "dkim_key_missing"),
    ],
)
async def test_broken_zone_through_probar(
    app: AppContext, overrides: dict[str, Any], step: str, code: str
) -> None:
    with ZoneServer(fluenzr_zone(**overrides)) as server:
        report = await probar(app, server, create_user("dkim"))
    bad = {k: v[2] for k, v in deliverability(report).items() if v[0] not in ("ok", "skipped")}
    assert bad == {step: code}


async def test_account_page_summary_and_one_row_per_shared_domain(
    app: AppContext, dns: ZoneServer
) -> None:
    first = await probar(app, dns, create_user("plain"))
    await probar(app, dns, create_user("dkim"))
    summary = account_summary(app, first.account_id)
    assert summary is not None
    assert summary["domain"] == "fluenzr.test"
    assert summary["shared"] == 2
    assert next(f.code for f in summary["findings"]) == "dkim_unsigned"  # most serious first
    assert summary["score"] < 100
    with app.sessions() as session:
        rows = session.scalars(select(DomainCheck)).all()
    assert [r.domain for r in rows] == ["fluenzr.test"]
    assert json.loads(rows[0].result)["score"] == 100


async def test_rfc8058_against_opendkims_real_signature(dns: ZoneServer) -> None:
    """OpenDKIM here signs List-Unsubscribe but not List-Unsubscribe-Post (its SignHeaders): a
    one-click unsubscribe that Gmail would not trust — the check says so."""
    import asyncio
    import smtplib

    from fluenzr.diagnose.domain_checks.check import check_test_mail
    from tests.support.mailservers import HOST, client_tls_context, wait_for_message

    user = create_user("dkim")
    message = (
        f"From: {user.email}\r\nTo: {user.email}\r\nSubject: one-click\r\n"
        "Message-ID: <rfc8058@fluenzr.test>\r\n"
        "List-Unsubscribe: <https://u.fluenzr.test/u/1>\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nhola\r\n"
    )
    with smtplib.SMTP(HOST, SUBMISSION_PORT, timeout=10) as smtp:
        smtp.starttls(context=client_tls_context())
        smtp.login(user.email, user.password)
        smtp.sendmail(user.email, [user.email], message)
    stored = await asyncio.to_thread(wait_for_message, user, message_id="<rfc8058@fluenzr.test>")
    assert stored is not None
    evidence = await check_test_mail(dns.lookup(), stored.raw)
    assert evidence.dkim is not None and evidence.dkim.finding.code == "dkim_ok"
    assert evidence.unsubscribe is not None
    assert (evidence.unsubscribe.code, evidence.unsubscribe.params["headers"]) == (
        "unsubscribe_not_signed", "list-unsubscribe-post",
    )  # fmt: skip
