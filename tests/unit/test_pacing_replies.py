"""The sending policy for each kind of SMTP failure (what the worker does next)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fluenzr.mail.reply_codes import Stage, classify_reply
from fluenzr.sending.failure_policy import Action, Failure, Kind, decide


def _reply(stage: Stage, code: int, enhanced: str | None, text: str) -> Failure:
    # The transport classifies the reply once, where in the dialogue it came.
    reply = classify_reply(stage, code, f"{enhanced} {text}" if enhanced else text)
    return Failure(stage=stage, kind=Kind.REPLY, reply=reply)


@pytest.mark.parametrize(
    ("failure", "action", "reason"),
    [
        (
            _reply(Stage.MAIL, 421, "4.7.0", "Service not available"),
            Action.BACKOFF,
            "server_unavailable",
        ),
        (
            _reply(Stage.MAIL, 450, "4.7.1", "Error: too much mail from 127.0.0.1"),
            Action.PAUSE,
            "sending_limit",
        ),
        (
            _reply(Stage.MESSAGE, 550, "5.4.5", "Daily user sending limit exceeded."),
            Action.PAUSE,
            "sending_limit",
        ),
        (
            _reply(Stage.MAIL, 451, "4.3.0", "Local error in processing"),
            Action.DEFER,
            "temporary_failure",
        ),
        (
            _reply(Stage.RCPT, 452, "4.3.1", "Insufficient system storage"),
            Action.DEFER,
            "temporary_failure",
        ),
        (
            _reply(Stage.AUTH, 454, "4.7.0", "Temporary authentication failure"),
            Action.BACKOFF,
            "temporary_failure",
        ),
        (
            _reply(Stage.AUTH, 535, "5.7.8", "Error: authentication failed"),
            Action.PAUSE,
            "auth_failed",
        ),
        (_reply(Stage.MAIL, 530, "5.7.0", "Authentication required"), Action.PAUSE, "auth_failed"),
        (_reply(Stage.RCPT, 554, "5.7.1", "Relay access denied"), Action.PAUSE, "relay_denied"),
        (_reply(Stage.RCPT, 550, "5.1.1", "User unknown"), Action.FAIL, "recipient_rejected"),
        (_reply(Stage.RCPT, 552, "5.2.2", "Mailbox full"), Action.DEFER, "mailbox_full"),
        (
            _reply(Stage.MESSAGE, 552, "5.3.4", "Message size exceeds fixed limit"),
            Action.FAIL,
            "message_too_large",
        ),
        (
            _reply(Stage.MESSAGE, 554, "5.7.1", "Message rejected as spam"),
            Action.FAIL,
            "message_rejected",
        ),
        (Failure(Stage.GREETING, Kind.REFUSED), Action.BACKOFF, "connection_refused"),
        (Failure(Stage.STARTTLS, Kind.TLS), Action.BACKOFF, "tls_failed"),
        (Failure(Stage.MAIL, Kind.TIMEOUT), Action.BACKOFF, "timeout"),
        (Failure(Stage.MESSAGE, Kind.DISCONNECTED), Action.DEFER, "connection_lost"),
        (Failure(Stage.MESSAGE, Kind.TIMEOUT), Action.DEFER, "timeout"),
    ],
)
def test_decision(failure: Failure, action: Action, reason: str) -> None:
    decision = decide(failure)
    assert (decision.action, decision.reason) == (action, reason)


def test_a_reply_s_text_is_read_once_by_the_transport() -> None:
    failure = _reply(Stage.RCPT, 550, "5.1.1", "  User   unknown ")
    assert (failure.code, failure.enhanced, failure.reason) == (550, "5.1.1", "recipient_rejected")
    assert failure.detail == "550 5.1.1 User unknown"


def test_resume_time_from_the_reply() -> None:
    failure = _reply(Stage.MAIL, 421, "4.7.0", "Too many messages, try again in 15 minutes")
    decision = decide(failure)
    assert decision.action is Action.PAUSE
    assert decision.retry_after == timedelta(minutes=15)
