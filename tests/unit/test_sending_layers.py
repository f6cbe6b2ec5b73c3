"""The sending engine sits above the mail layer: no SMTP/IMAP library of its own, and the
transport's errors become the sending policy's values in one small adapter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fluenzr.sending
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError, mail_error
from fluenzr.sending.account_connection import failure_of
from fluenzr.sending.failure_policy import Action, Kind, Phase, decide

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


def _error(
    code: str,
    stage: str,
    *,
    detail: str | None = None,
    reply_code: int | None = None,
    enhanced_code: str | None = None,
) -> MailError:
    params = {"host": "h", "port": 25, "stage": stage}
    return mail_error(
        ErrorCode(code),
        params=params,
        detail=detail,
        reply_code=reply_code,
        enhanced_code=enhanced_code,
    )


@pytest.mark.parametrize(
    ("code", "stage", "expected"),
    [
        ("timeout", "mail", (Phase.MAIL, Kind.TIMEOUT)),
        ("timeout", "message", (Phase.DATA, Kind.TIMEOUT)),
        ("server_disconnected", "message", (Phase.DATA, Kind.DISCONNECTED)),
        ("connection_refused", "greeting", (Phase.CONNECT, Kind.REFUSED)),
        ("certificate_invalid", "starttls", (Phase.TLS, Kind.TLS)),
        ("starttls_unavailable", "starttls", (Phase.TLS, Kind.TLS)),
    ],
)
def test_transport_errors_become_failures(
    code: str, stage: str, expected: tuple[Phase, Kind]
) -> None:
    error = _error(code, stage, detail="x")
    failure = failure_of(error)
    assert (failure.stage, failure.kind) == expected


def test_a_dead_connection_found_while_sending_counts_from_mail() -> None:
    # A pooled connection that died while idle: the engine retries once on a fresh one.
    failure = failure_of(_error(ErrorCode.SERVER_DISCONNECTED, "ehlo"), at_least=Phase.MAIL)
    assert (failure.stage, failure.kind) == (Phase.MAIL, Kind.DISCONNECTED)


def test_a_refused_login_keeps_its_reply_and_pauses_the_account() -> None:
    error = _error(
        ErrorCode.AUTH_FAILED,
        "auth",
        detail="535 5.7.8 Authentication credentials invalid",
        reply_code=535,
        enhanced_code="5.7.8",
    )
    failure = failure_of(error)
    assert (failure.stage, failure.kind, failure.code, failure.enhanced) == (
        Phase.AUTH,
        Kind.REPLY,
        535,
        "5.7.8",
    )
    assert failure.text == "Authentication credentials invalid"
    assert (decide(failure).action, decide(failure).reason) == (Action.PAUSE, "auth_failed")
