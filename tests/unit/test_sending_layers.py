"""The sending engine sits above the mail layer: no SMTP/IMAP library of its own, and the
transport's errors become the sending policy's values in one small adapter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fluenzr.sending
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError
from fluenzr.mail.reply_codes import Stage, classify_reply
from fluenzr.mail.smtp_results import SmtpError
from fluenzr.sending.account_connection import failure_of
from fluenzr.sending.failure_policy import Action, Kind, decide

SENDING = Path(fluenzr.sending.__file__).parent
LIBRARIES = {"aiosmtplib", "aioimaplib", "smtplib", "imaplib"}


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_no_sending_module_imports_a_mail_library() -> None:
    files = sorted(SENDING.rglob("*.py"))
    assert len(files) > 5
    offending = {f.name: _imported(f) & LIBRARIES for f in files if _imported(f) & LIBRARIES}
    assert offending == {}


def _error(code: str, stage: str, *, detail: str | None = None) -> SmtpError:
    return SmtpError(ErrorCode(code), stage=Stage(stage), params={"host": "h"}, detail=detail)


@pytest.mark.parametrize(
    ("code", "stage", "expected"),
    [
        ("timeout", "mail", (Stage.MAIL, Kind.TIMEOUT)),
        ("timeout", "message", (Stage.MESSAGE, Kind.TIMEOUT)),
        ("server_disconnected", "message", (Stage.MESSAGE, Kind.DISCONNECTED)),
        ("connection_refused", "greeting", (Stage.GREETING, Kind.REFUSED)),
        ("certificate_invalid", "starttls", (Stage.STARTTLS, Kind.TLS)),
        ("certificate_invalid", "greeting", (Stage.STARTTLS, Kind.TLS)),  # implicit TLS
        ("starttls_unavailable", "starttls", (Stage.STARTTLS, Kind.TLS)),
    ],
)
def test_transport_errors_become_failures(
    code: str, stage: str, expected: tuple[Stage, Kind]
) -> None:
    error = _error(code, stage, detail="x")
    failure = failure_of(error)
    assert (failure.stage, failure.kind) == expected


def test_a_dead_connection_found_while_sending_counts_from_mail() -> None:
    # A pooled connection that died while idle: the engine retries once on a fresh one.
    failure = failure_of(_error(ErrorCode.SERVER_DISCONNECTED, "ehlo"), sending=True)
    assert (failure.stage, failure.kind) == (Stage.MAIL, Kind.DISCONNECTED)


def test_a_refused_login_keeps_its_reply_and_pauses_the_account() -> None:
    reply = classify_reply(Stage.AUTH, 535, "5.7.8 Authentication credentials invalid")
    error = SmtpError(ErrorCode.AUTH_FAILED, stage=Stage.AUTH, reply=reply)
    failure = failure_of(error)
    assert (failure.stage, failure.kind, failure.code, failure.enhanced) == (
        Stage.AUTH,
        Kind.REPLY,
        535,
        "5.7.8",
    )
    assert failure.reply is reply  # the transport's value, not a re-parse of its text
    assert failure.text == "Authentication credentials invalid"
    assert (decide(failure).action, decide(failure).reason) == (Action.PAUSE, "auth_failed")


def test_an_error_from_outside_the_smtp_transport_counts_as_connecting() -> None:
    failure = failure_of(MailError(ErrorCode.CONNECTION_REFUSED))
    assert (failure.stage, failure.kind) == (Stage.GREETING, Kind.REFUSED)
