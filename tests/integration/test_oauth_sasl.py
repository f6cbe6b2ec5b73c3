"""XOAUTH2 and OAUTHBEARER through the transports, verified by the real Postfix and Dovecot.

Dovecot's ``oauth2`` passdb introspects every token at the test authorization server
(Authlib, tests/support/oauth_server); Postfix's SMTP AUTH goes through Dovecot SASL. A refused
token comes back as the mechanism's error challenge, which the transports answer and report.
"""

from __future__ import annotations

from typing import Any

import pytest

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError
from fluenzr.mail.imap import connect_imap
from fluenzr.mail.sasl import OAUTHBEARER, XOAUTH2
from fluenzr.mail.smtp import connect_smtp
from tests.support import oauth_server
from tests.support.mailservers import SUBMISSIONS_PORT, create_user


@pytest.fixture(scope="module")
def authorization_server() -> None:
    oauth_server.ensure_oauth_mailservers()


@pytest.mark.parametrize("mechanism", [XOAUTH2, OAUTHBEARER])
async def test_smtp_and_imap_accept_a_granted_token(
    mailserver: None, authorization_server: None, mechanism: str
) -> None:
    user = create_user("oauth")
    token = str(oauth_server.grant_tokens(user.email)["access_token"])
    for port in (None, SUBMISSIONS_PORT):
        base = user.smtp_endpoint(port=port) if port else user.smtp_endpoint()
        endpoint: Any = oauth_server.oauth_endpoint(base, token=token, mechanism=mechanism)
        async with await connect_smtp(endpoint, timeout=5) as smtp:
            assert smtp.mechanism == mechanism
    imap_endpoint: Any = oauth_server.oauth_endpoint(
        user.imap_endpoint(), token=token, mechanism=mechanism
    )
    async with await connect_imap(imap_endpoint, timeout=5) as imap:
        status = await imap.select("INBOX")
        assert status.exists == 0


@pytest.mark.parametrize("mechanism", [XOAUTH2, OAUTHBEARER])
async def test_a_revoked_token_is_refused_with_the_servers_challenge(
    mailserver: None, authorization_server: None, mechanism: str
) -> None:
    user = create_user("oauthrev")
    tokens = oauth_server.grant_tokens(user.email)
    oauth_server.revoke(str(tokens["refresh_token"]))
    token = str(tokens["access_token"])
    smtp_endpoint: Any = oauth_server.oauth_endpoint(
        user.smtp_endpoint(), token=token, mechanism=mechanism
    )
    with pytest.raises(MailError) as smtp_error:
        await connect_smtp(smtp_endpoint, timeout=5)
    assert smtp_error.value.code is ErrorCode.OAUTH_TOKEN_REJECTED
    # From Dovecot's JSON challenge: XOAUTH2 says "401", OAUTHBEARER (RFC 7628) "invalid_token".
    assert smtp_error.value.params["oauth_status"] in {"401", "invalid_token"}
    assert smtp_error.value.reply_code == 535
    imap_endpoint: Any = oauth_server.oauth_endpoint(
        user.imap_endpoint(), token=token, mechanism=mechanism
    )
    with pytest.raises(MailError) as imap_error:
        await connect_imap(imap_endpoint, timeout=5)
    assert imap_error.value.code is ErrorCode.OAUTH_TOKEN_REJECTED
    assert imap_error.value.params["oauth_status"] in {"401", "invalid_token"}
    for error in (smtp_error.value, imap_error.value):
        assert token not in repr(error.to_dict()) and token not in str(error)


async def test_password_logins_still_work_beside_oauth(mailserver: None) -> None:
    user = create_user("plain")
    async with await connect_smtp(user.smtp_endpoint(), timeout=5) as smtp:
        assert smtp.mechanism == "PLAIN"
    async with await connect_imap(user.imap_endpoint(), timeout=5):
        pass
