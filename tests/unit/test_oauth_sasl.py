"""SASL XOAUTH2 / OAUTHBEARER encoding, hostile error challenges, provider AUTH replies."""

from __future__ import annotations

import base64
import json

import pytest

from fluenzr.error_codes import ErrorCode
from fluenzr.mail import sasl
from fluenzr.mail.reply_codes import AUTH_PATTERNS, Stage, classify_reply, oauth_failure_code


def test_xoauth2_initial_response() -> None:
    raw = base64.b64decode(sasl.initial_response("XOAUTH2", user="a@x.test", token="T0k"))
    assert raw == b"user=a@x.test\x01auth=Bearer T0k\x01\x01"


def test_oauthbearer_initial_response_escapes_the_authzid() -> None:
    raw = base64.b64decode(
        sasl.initial_response("OAUTHBEARER", user="a,b=c@x.test", token="T", host="h", port=587)
    )
    assert raw == b"n,a=a=2Cb=3Dc@x.test,\x01host=h\x01port=587\x01auth=Bearer T\x01\x01"


@pytest.mark.parametrize("bad", ["a\x01b", "a\r\nAUTH", "a\x00"])
def test_control_characters_never_reach_the_wire(bad: str) -> None:
    with pytest.raises(ValueError, match="control"):
        sasl.initial_response("XOAUTH2", user=bad, token="t")
    with pytest.raises(ValueError, match="control"):
        sasl.initial_response("OAUTHBEARER", user="u", token=bad)


def test_failure_replies() -> None:
    assert sasl.failure_reply("XOAUTH2") == b""
    assert base64.b64decode(sasl.failure_reply("OAUTHBEARER")) == b"\x01"  # RFC 7628 §3.2.3


def test_challenge_is_decoded() -> None:
    body = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
    challenge = sasl.parse_challenge(base64.b64encode(json.dumps(body).encode()))
    assert challenge == sasl.OAuthChallenge("401", "https://mail.google.com/", "bearer")


@pytest.mark.parametrize(
    "hostile",
    [
        b"",
        b"not base64!!",
        base64.b64encode(b"[1,2,3]"),
        base64.b64encode(b"{" * 5000),  # over the cap: not even decoded
        base64.b64encode(b'{"status": {"deep": 1}, "scope": 7}'),
        base64.b64encode(("[" * 900 + "]" * 900).encode()),
        base64.b64encode(json.dumps({"status": "x" * 10_000}).encode())[:4000],
    ],
)
def test_hostile_challenges_give_an_empty_answer(hostile: bytes) -> None:
    challenge = sasl.parse_challenge(hostile)
    assert len(challenge.status) <= 200 and len(challenge.scope) <= 200


# One row per AUTH_PATTERNS entry: the providers' own reply texts.
PROVIDER_REPLIES = [
    (
        535,
        "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
        "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
        ErrorCode.SMTP_AUTH_DISABLED,
    ),
    (
        535,
        "5.7.139 Authentication unsuccessful, basic authentication is disabled.",
        ErrorCode.OAUTH_REQUIRED,
    ),
    (
        534,
        "5.7.9 Application-specific password required. For more information, go to "
        "https://support.google.com/mail/?p=InvalidSecondFactor",
        ErrorCode.APP_PASSWORD_REQUIRED,
    ),
    (
        535,
        "5.7.8 Username and Password not accepted. For more information, go to "
        "https://support.google.com/mail/?p=BadCredentials",
        ErrorCode.APP_PASSWORD_REQUIRED,
    ),
]


def test_every_pattern_has_a_case() -> None:
    assert len(PROVIDER_REPLIES) == len(AUTH_PATTERNS)


@pytest.mark.parametrize(("code", "text", "expected"), PROVIDER_REPLIES)
def test_provider_auth_replies(code: int, text: str, expected: ErrorCode) -> None:
    assert classify_reply(Stage.AUTH, code, text).code is expected


def test_microsoft_5_7_3_and_oauth_refusals() -> None:
    reply = classify_reply(Stage.AUTH, 535, "5.7.3 Authentication unsuccessful")
    assert reply.code is ErrorCode.AUTH_FAILED  # a password account
    assert isinstance(reply.code, ErrorCode)
    assert oauth_failure_code(reply.code, "401") is ErrorCode.OAUTH_TOKEN_REJECTED
    assert oauth_failure_code(reply.code, "") is ErrorCode.OAUTH_TOKEN_REJECTED
    assert oauth_failure_code(reply.code, "insufficient_scope") is ErrorCode.OAUTH_SCOPE_MISSING
    assert oauth_failure_code(ErrorCode.SMTP_AUTH_DISABLED, "") is ErrorCode.SMTP_AUTH_DISABLED
    gmail = ErrorCode.APP_PASSWORD_REQUIRED  # Gmail's BadCredentials text after a token
    assert oauth_failure_code(gmail, "400") is ErrorCode.OAUTH_TOKEN_REJECTED


@pytest.mark.parametrize(
    "line",
    [
        "AUTH XOAUTH2 dXNlcj1hQGIBYXV0aD1CZWFyZXIgc2VjcmV0AQE=",
        "A1 AUTHENTICATE OAUTHBEARER bixhPWFAYiwBYXV0aD1CZWFyZXIgc2VjcmV0AQE=",
        "Authorization: Bearer secret",
        "GET /accounts/oauth/callback?state=abc&code=secret HTTP/1.1",
        "refresh_token=secret&client_secret=secret",
    ],
)
def test_logs_scrub_oauth_material(line: str) -> None:
    from fluenzr.logs import redact

    cleaned = redact(line)
    assert "secret" not in cleaned and "c2VjcmV0" not in cleaned, cleaned
