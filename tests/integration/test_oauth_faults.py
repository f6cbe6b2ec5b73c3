"""OAuth AUTH refusals a real provider gives, from the in-process fault server: Microsoft's
``535 5.7.139`` (SMTP AUTH disabled for the tenant) and the XOAUTH2 error challenge."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from fluenzr.core.endpoints import Security
from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError
from fluenzr.mail.smtp import connect_smtp
from tests.support.fault_smtp import RawServer

TOKEN = "ya29.a0-secret-access-token"
MS_DISABLED = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
    "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."
)


async def _login(server: RawServer, mechanism: str = "XOAUTH2") -> MailError:
    base = server.endpoint(Security.NONE)
    endpoint = dataclasses.replace(base, password=Secret(TOKEN), oauth=mechanism)
    with pytest.raises(MailError) as caught:
        await connect_smtp(endpoint, timeout=3)
    return caught.value


async def test_microsoft_smtp_auth_disabled_names_the_admin_fix() -> None:
    server = await RawServer(replies={"ehlo": "AUTH LOGIN XOAUTH2", "auth": MS_DISABLED}).start()
    try:
        error = await _login(server)
    finally:
        await server.stop()
    assert error.code is ErrorCode.SMTP_AUTH_DISABLED
    assert error.enhanced_code == "5.7.139"
    assert "SmtpClientAuthenticationDisabled" in error.hint("en")
    assert "Set-CASMailbox" in error.hint("es")


@pytest.mark.parametrize(
    ("mechanism", "answer"), [("XOAUTH2", b"\r\n"), ("OAUTHBEARER", b"AQ==\r\n")]
)
async def test_the_error_challenge_is_answered_and_reported(mechanism: str, answer: bytes) -> None:
    challenge = {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}
    encoded = base64.b64encode(json.dumps(challenge).encode()).decode()
    server = await RawServer(
        replies={
            "ehlo": f"AUTH {mechanism}",
            "auth": f"334 {encoded}",
            "auth_final": "535 5.7.8 Username and Password not accepted. BadCredentials",
        }
    ).start()
    try:
        error = await _login(server, mechanism)
    finally:
        await server.stop()
    assert server.auth_answers == [answer]  # the empty response / %x01 the mechanism requires
    assert error.params["oauth_status"] == "400"
    assert error.params["oauth_scope"] == "https://mail.google.com/"
    assert error.code is ErrorCode.OAUTH_TOKEN_REJECTED  # Gmail's password text, for a token
    assert TOKEN not in json.dumps(error.to_dict(), default=str)


async def test_insufficient_scope_challenge_is_missing_scope() -> None:
    challenge = {"status": "insufficient_scope", "scope": "https://mail.google.com/"}
    encoded = base64.b64encode(json.dumps(challenge).encode()).decode()
    server = await RawServer(
        replies={"ehlo": "AUTH XOAUTH2", "auth": f"334 {encoded}", "auth_final": "535 5.7.8 no"}
    ).start()
    try:
        error = await _login(server)
    finally:
        await server.stop()
    assert error.code is ErrorCode.OAUTH_SCOPE_MISSING


async def test_no_oauth_mechanism_offered() -> None:
    server = await RawServer(replies={"ehlo": "AUTH PLAIN LOGIN"}).start()
    try:
        error = await _login(server)
    finally:
        await server.stop()
    assert error.code is ErrorCode.AUTH_MECHANISM_UNSUPPORTED
    assert server.commands.count("AUTH") == 0  # the token was never sent
