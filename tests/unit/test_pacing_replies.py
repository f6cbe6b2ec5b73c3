"""The sending policy for each kind of SMTP failure (what the worker does next)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fluenzr.mail.reply_codes import Stage, classify_reply
from fluenzr.sending.failure_policy import Action, Failure, Kind, Phase, decide

# Where in the dialogue each reply below came (the transport classifies it there, once).
_AT = {Phase.CONNECT: Stage.GREETING, Phase.TLS: Stage.STARTTLS, Phase.DATA: Stage.MESSAGE}


def _reply(phase: Phase, code: int, enhanced: str | None, text: str) -> Failure:
    stage = _AT.get(phase, Stage(phase.value))
    reply = classify_reply(stage, code, f"{enhanced} {text}" if enhanced else text)
    return Failure(
        stage=phase,
        kind=Kind.REPLY,
        code=code,
        enhanced=enhanced,
        text=text,
        reason=reply.code,
        retry_after=reply.retry_after,
    )


@pytest.mark.parametrize(
    ("failure", "action", "reason"),
    [
        (
            _reply(Phase.MAIL, 421, "4.7.0", "Service not available"),
            Action.BACKOFF,
            "server_unavailable",
        ),
        (
            _reply(Phase.MAIL, 450, "4.7.1", "Error: too much mail from 127.0.0.1"),
            Action.PAUSE,
            "sending_limit",
        ),
        (
            _reply(Phase.DATA, 550, "5.4.5", "Daily user sending limit exceeded."),
            Action.PAUSE,
            "sending_limit",
        ),
        (
            _reply(Phase.MAIL, 451, "4.3.0", "Local error in processing"),
            Action.DEFER,
            "temporary_failure",
        ),
        (
            _reply(Phase.RCPT, 452, "4.3.1", "Insufficient system storage"),
            Action.DEFER,
            "temporary_failure",
        ),
        (
            _reply(Phase.AUTH, 454, "4.7.0", "Temporary authentication failure"),
            Action.BACKOFF,
            "temporary_failure",
        ),
        (
            _reply(Phase.AUTH, 535, "5.7.8", "Error: authentication failed"),
            Action.PAUSE,
            "auth_failed",
        ),
        (_reply(Phase.MAIL, 530, "5.7.0", "Authentication required"), Action.PAUSE, "auth_failed"),
        (_reply(Phase.RCPT, 554, "5.7.1", "Relay access denied"), Action.PAUSE, "relay_denied"),
        (_reply(Phase.RCPT, 550, "5.1.1", "User unknown"), Action.FAIL, "recipient_rejected"),
        (_reply(Phase.RCPT, 552, "5.2.2", "Mailbox full"), Action.DEFER, "mailbox_full"),
        (
            _reply(Phase.DATA, 552, "5.3.4", "Message size exceeds fixed limit"),
            Action.FAIL,
            "message_too_large",
        ),
        (
            _reply(Phase.DATA, 554, "5.7.1", "Message rejected as spam"),
            Action.FAIL,
            "message_rejected",
        ),
        (Failure(Phase.CONNECT, Kind.REFUSED), Action.BACKOFF, "connection_refused"),
        (Failure(Phase.TLS, Kind.TLS), Action.BACKOFF, "tls_failed"),
        (Failure(Phase.MAIL, Kind.TIMEOUT), Action.BACKOFF, "timeout"),
        (Failure(Phase.DATA, Kind.DISCONNECTED), Action.DEFER, "connection_lost"),
        (Failure(Phase.DATA, Kind.TIMEOUT), Action.DEFER, "timeout"),
    ],
)
def test_decision(failure: Failure, action: Action, reason: str) -> None:
    decision = decide(failure)
    assert (decision.action, decision.reason) == (action, reason)


def test_resume_time_from_the_reply() -> None:
    failure = _reply(Phase.MAIL, 421, "4.7.0", "Too many messages, try again in 15 minutes")
    decision = decide(failure)
    assert decision.action is Action.PAUSE
    assert decision.retry_after == timedelta(minutes=15)
