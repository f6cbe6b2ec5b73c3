"""Probar against the real local Postfix + Dovecot (scripts/mailservers.sh), through the service
that the CLI, the API and the web UI call: accounts stored in the database, credentials sealed.

Each test makes its own mailbox users (the servers are shared with other suites).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import ssl
from dataclasses import replace
from typing import Any

import email_validator
import pytest
from sqlalchemy import select

from fluenzr.core.endpoints import MailboxCredentials, Security, TlsPolicy
from fluenzr.core.secret import Secret
from fluenzr.diagnose.greeting_probe import GreetingProbe
from fluenzr.diagnose.probar import ProbarSeams, probe_mailbox
from fluenzr.diagnose.report import ProbarReport
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.diagnose.runner import Status, StepResult
from fluenzr.i18n import LANGUAGES
from fluenzr.services.account_probar import run_probar
from fluenzr.services.accounts import AccountInput, create_account, get_account, update_account
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.storage.models import Account, Event
from tests.support.mailservers import (
    IMAP_PORT,
    IMAPS_PORT,
    LIMITED_PORT,
    SERVER_CERT_FILE,
    SMTP_PLAIN_PORT,
    SUBMISSION_PORT,
    SUBMISSIONS_PORT,
    MailUser,
    ca_pem,
    create_user,
    list_messages,
)

pytestmark = pytest.mark.mailserver


@pytest.fixture(autouse=True)
def _test_domain(monkeypatch: pytest.MonkeyPatch, mailserver: None) -> None:
    # The test servers' domain is fluenzr.test, a reserved name email-validator refuses by default.
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)


def seams(**overrides: Any) -> ProbarSeams:
    lookup = DnsLookup()
    options: dict[str, Any] = {
        "smtp_timeout": 5.0,
        "imap_timeout": 5.0,
        "test_mail_wait": 10.0,
        "mismatch_after": 0.5,
        # The "standard" submission ports, as this machine's test Postfix offers them.
        "standard_ports": (
            (SUBMISSION_PORT, Security.STARTTLS),
            (SUBMISSIONS_PORT, Security.SSL),
            (SMTP_PLAIN_PORT, Security.STARTTLS),
        ),
        "standard_imap_ports": ((IMAPS_PORT, Security.SSL), (IMAP_PORT, Security.STARTTLS)),
    }
    options.update(overrides)
    return ProbarSeams(lookup=lookup, probe=GreetingProbe(lookup=lookup, timeout=1.0), **options)


def add_account(app: AppContext, user: MailUser, **fields: Any) -> int:
    values: dict[str, Any] = {
        "email": user.email,
        "display_name": "Ana Probar",
        "smtp_host": "127.0.0.1",
        "smtp_port": SUBMISSION_PORT,
        "smtp_security": "starttls",
        "username": user.email,
        "password": Secret(user.password),
        "imap_host": "127.0.0.1",
        "imap_port": IMAPS_PORT,
        "imap_security": "ssl",
        "smtp_ca_pem": ca_pem(),
        "imap_ca_pem": ca_pem(),
        "force": True,
    }
    values.update(fields)
    view = create_account(
        app, workspace_id=default_workspace_id(app.sessions), data=AccountInput(**values)
    )
    return view.id


async def probar(app: AppContext, account_id: int, **options: Any) -> ProbarReport:
    overrides = options.pop("seams", {})
    return await run_probar(
        app,
        account_id=account_id,
        workspace_id=default_workspace_id(app.sessions),
        seams=seams(**overrides),
        **options,
    )


def failed(report: ProbarReport, code: str, category: str, step: str) -> dict[str, Any]:
    assert not report.ok, report.to_dict()
    error = report.to_dict()["error"]
    assert (error["code"], error["category"], error["step"]) == (code, category, step), error
    # One code for both transports: the scope says which one failed.
    assert error["scope"] != ("smtp" if step.startswith("imap_") else "imap"), error
    assert report.error is not None
    for lang in LANGUAGES:
        hint = report.error.hint(lang)
        assert hint and not hint.startswith("error."), (lang, hint)
    return error


def server_fingerprint() -> str:
    with open(SERVER_CERT_FILE) as handle:
        der = ssl.PEM_cert_to_DER_cert(handle.read())
    return hashlib.sha256(der).hexdigest()


async def test_happy_path_mail_lands_in_inbox_unseen_and_result_is_stored(app: AppContext) -> None:
    user = create_user("probar")
    account_id = add_account(app, user)
    streamed: list[StepResult] = []
    report = await probar(app, account_id, on_step=streamed.append)

    assert report.ok, report.to_dict()
    names = [s.name for s in report.steps]
    assert names == [
        "dns", "tcp", "tls", "ehlo", "auth", "send",
        "imap_dns", "imap_tcp", "imap_tls", "imap_login", "imap_inbox", "imap_sent",
    ]  # fmt: skip
    assert [s.name for s in streamed] == names
    assert all(s.status is Status.OK for s in report.steps)
    assert "Sent" in report.steps[-1].detail
    assert "unseen" in report.steps[-2].detail

    [message] = [m for m in list_messages(user) if m.message_id == report.message_id]
    assert "\\Seen" not in message.flags
    assert message.subject is not None
    assert message.subject.startswith("FluenzR")

    view = get_account(app, workspace_id=default_workspace_id(app.sessions), account_id=account_id)
    assert view.last_test_ok is True
    assert view.last_test_at is not None
    assert view.last_test_at > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with app.sessions() as session:
        events = session.scalars(select(Event).where(Event.account_id == account_id)).all()
        stored = session.get(Account, account_id)
        assert stored is not None
        result = stored.last_test_result or ""
    assert [e.type for e in events] == ["account_tested"]
    assert json.loads(events[0].data)["ok"] is True
    assert json.loads(result)["message_id"] == report.message_id
    assert user.password not in result
    assert user.password not in json.dumps(report.to_dict())


async def test_imap_starttls_and_no_send(app: AppContext) -> None:
    user = create_user("probar")
    account_id = add_account(app, user, imap_port=IMAP_PORT, imap_security="starttls")
    report = await probar(app, account_id, send_test_mail=False)
    assert report.ok, report.to_dict()
    statuses = {s.name: s.status for s in report.steps}
    assert statuses["send"] is Status.SKIPPED
    assert statuses["imap_inbox"] is Status.SKIPPED
    assert statuses["imap_tls"] is Status.OK
    assert statuses["imap_sent"] is Status.OK
    assert list_messages(user) == []


async def test_implicit_tls_submission(app: AppContext) -> None:
    user = create_user("probar")
    account_id = add_account(
        app, user, smtp_port=SUBMISSIONS_PORT, smtp_security="ssl", imap_host=""
    )
    report = await probar(app, account_id)
    assert report.ok, report.to_dict()
    assert [s.name for s in report.steps][-1] == "send"


async def test_auth_failed_marks_account_and_a_good_test_clears_it(app: AppContext) -> None:
    user = create_user("probar")
    account_id = add_account(app, user, password=Secret("Wrong-" + user.password))
    report = await probar(app, account_id)
    error = failed(report, "auth_failed", "auth", "auth")
    assert error["reply_code"] == 535
    assert "App Password" in report.error.hint("es")  # type: ignore[union-attr]
    workspace = default_workspace_id(app.sessions)
    view = get_account(app, workspace_id=workspace, account_id=account_id)
    assert (view.status, view.status_reason, view.last_test_ok) == ("error", "auth_failed", False)

    update_account(
        app,
        workspace_id=workspace,
        account_id=account_id,
        changes={"password": Secret(user.password)},
    )
    report = await probar(app, account_id, send_test_mail=False)
    assert report.ok, report.to_dict()
    view = get_account(app, workspace_id=workspace, account_id=account_id)
    assert (view.status, view.status_reason, view.last_test_ok) == ("active", None, True)


async def test_imap_auth_failed(app: AppContext) -> None:
    user = create_user("probar")
    account_id = add_account(app, user, imap_password=Secret("not-the-password"))
    report = await probar(app, account_id, send_test_mail=False)
    failed(report, "auth_failed", "auth", "imap_login")


async def test_test_mail_not_received_when_imap_is_another_mailbox(app: AppContext) -> None:
    user, other = create_user("probar"), create_user("probar")
    account_id = add_account(
        app, user, imap_username=other.email, imap_password=Secret(other.password)
    )
    report = await probar(app, account_id, seams={"test_mail_wait": 1.0})
    error = failed(report, "test_mail_not_received", "test_mail", "imap_inbox")
    assert report.sent
    assert "1" in error["message"]


@pytest.mark.parametrize(
    ("port", "security", "expected"),
    [(SUBMISSIONS_PORT, "starttls", "ssl"), (SUBMISSION_PORT, "ssl", "starttls")],
    ids=["starttls-on-implicit-port", "ssl-on-starttls-port"],
)
async def test_tls_mode_mismatch(app: AppContext, port: int, security: str, expected: str) -> None:
    user = create_user("probar")
    account_id = add_account(app, user, smtp_port=port, smtp_security=security, imap_host="")
    report = await probar(app, account_id)
    error = failed(report, "tls_mode_mismatch", "tls", "tls")
    assert error["suggestion"]["port"] == port
    assert error["suggestion"]["security"] == expected


async def test_connection_refused_suggests_a_measured_port(app: AppContext) -> None:
    user = create_user("probar")
    account_id = add_account(app, user, smtp_port=10599, imap_host="")
    report = await probar(app, account_id)
    error = failed(report, "connection_refused", "connection", "tcp")
    assert error["suggestion"]["port"] == SUBMISSION_PORT
    assert f"{SUBMISSION_PORT} en lugar de 10599" in report.error_dict("es")["hint"]  # type: ignore[index]


async def test_certificate_unknown_ca_shows_fingerprint_and_pinning_fixes_it(
    app: AppContext,
) -> None:
    user = create_user("probar")
    account_id = add_account(app, user, smtp_ca_pem=None, imap_ca_pem=None, imap_host="")
    report = await probar(app, account_id, send_test_mail=False)
    error = failed(report, "certificate_invalid", "certificate", "tls")
    assert error["fingerprint"] == server_fingerprint()
    assert error["params"]["reason"] in {"unknown_ca", "self_signed"}

    workspace = default_workspace_id(app.sessions)
    update_account(
        app,
        workspace_id=workspace,
        account_id=account_id,
        # The TLS trust is part of what the password is bound to: it is entered again with it.
        changes={"pin_sha256": error["fingerprint"], "password": Secret(user.password)},
    )
    report = await probar(app, account_id, send_test_mail=False)
    assert report.ok, report.to_dict()
    assert "pinned" in report.steps[2].detail


@pytest.mark.xdist_group("postfix-anvil")  # port 10588's allowance is per client address
async def test_sending_limit_from_postfix_anvil(app: AppContext) -> None:
    user = create_user("probar")
    account_id = add_account(app, user, smtp_port=LIMITED_PORT, imap_host="")
    # Port 10588 allows 3 messages per 20 s per client (shared with any other suite): within a
    # few runs Postfix answers 450 4.7.1 "too much mail".
    for _ in range(6):
        report = await probar(app, account_id)
        if not report.ok:
            break
    error = failed(report, "sending_limit", "sending_limit", "send")
    assert error["reply_code"] == 450
    assert "too much mail" in error["detail"]


@pytest.mark.parametrize(
    ("fields", "code", "category", "suggested"),
    [
        (
            {"imap_port": IMAP_PORT, "imap_security": "ssl"},
            "tls_mode_mismatch",
            "tls",
            (IMAP_PORT, "starttls"),
        ),
        (
            {"imap_port": IMAPS_PORT, "imap_security": "starttls"},
            "tls_mode_mismatch",
            "tls",
            (IMAPS_PORT, "ssl"),
        ),
        ({"imap_port": 10599}, "connection_refused", "connection", (IMAPS_PORT, "ssl")),
    ],
    ids=["ssl-on-143", "starttls-on-993", "refused"],
)
async def test_imap_connection_failures_suggest_a_port_that_answers(
    app: AppContext,
    fields: dict[str, Any],
    code: str,
    category: str,
    suggested: tuple[int, str],
) -> None:
    user = create_user("probar")
    account_id = add_account(app, user, **fields)
    report = await probar(app, account_id, send_test_mail=False)
    step = "imap_tcp" if code == "connection_refused" else "imap_tls"
    error = failed(report, code, category, step)
    assert (error["suggestion"]["port"], error["suggestion"]["security"]) == suggested


async def test_imap_certificate_invalid_without_ca() -> None:
    user = create_user("probar")
    smtp = user.smtp_endpoint()  # trusts the test CA
    imap = replace(user.imap_endpoint(), tls=TlsPolicy())  # system store only
    creds = MailboxCredentials(1, 1, user.email, "Ana", smtp, imap)
    report = await probe_mailbox(
        creds, send=False, seams=seams(), now=lambda: dt.datetime.now(dt.UTC)
    )
    error = failed(report, "certificate_invalid", "certificate", "imap_tls")
    assert error["fingerprint"] == server_fingerprint()
    assert error["params"]["reason"] in {"unknown_ca", "self_signed"}
