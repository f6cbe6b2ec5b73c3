"""TLS policy: verification failures say why, pinning works, the fingerprint is shown."""

from __future__ import annotations

import hashlib
import ssl

import pytest

from fluenzr.core.endpoints import Security, TlsPolicy
from fluenzr.errors import MailError
from fluenzr.i18n import LANGUAGES
from fluenzr.mail import tls
from fluenzr.mail.smtp import connect_smtp
from tests.support import mailservers as ms
from tests.support.certs import ServerCert, pki, self_signed
from tests.support.fault_smtp import PASSWORD, SmtpFaults, smtp_server


def _certificate_error(error: MailError, reason: str, cert: ServerCert) -> None:
    assert error.code == "certificate_invalid"
    assert error.category == "certificate"
    assert error.params["reason"] == reason
    assert error.params["fingerprint"] == cert.fingerprint
    for lang in LANGUAGES:
        assert cert.fingerprint in error.hint(lang)
        assert "{" not in error.message(lang)


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "ssl"])
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: pki().expired(), "expired"),
        (lambda: pki().wrong_host(), "wrong_host"),
        (lambda: self_signed(), "self_signed"),
    ],
    ids=["expired", "wrong_host", "self_signed"],
)
async def test_invalid_certificate_says_why(make: object, reason: str, implicit: bool) -> None:
    cert: ServerCert = make()  # type: ignore[operator]
    async with smtp_server(SmtpFaults(cert=cert, implicit_tls=implicit)) as server:
        security = Security.SSL if implicit else Security.STARTTLS
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(security), timeout=5)
    _certificate_error(caught.value, reason, cert)
    assert server.auth == []


async def test_unknown_ca() -> None:
    cert = pki().leaf()
    async with smtp_server(SmtpFaults(cert=cert)) as server:
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(tls=TlsPolicy()), timeout=5)  # system store only
    _certificate_error(caught.value, "unknown_ca", cert)


async def test_bridge_like_server_passes_when_pinned() -> None:
    # Proton Bridge: STARTTLS on a loopback port with its own self-signed certificate.
    cert = self_signed()
    async with smtp_server(SmtpFaults(cert=cert)) as server:
        pinned = TlsPolicy(pin_sha256=cert.fingerprint.upper())
        async with await connect_smtp(server.endpoint(tls=pinned), timeout=5) as smtp:
            assert smtp.secure
            assert smtp.certificate is not None
            assert smtp.certificate.fingerprint == cert.fingerprint
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(), timeout=5)
    _certificate_error(caught.value, "self_signed", cert)
    assert len(server.auth) == 1  # only the pinned session logged in


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "ssl"])
async def test_wrong_pin_stops_before_auth(implicit: bool) -> None:
    cert = self_signed()
    async with smtp_server(SmtpFaults(cert=cert, implicit_tls=implicit)) as server:
        policy = TlsPolicy(pin_sha256="0" * 64)
        security = Security.SSL if implicit else Security.STARTTLS
        with pytest.raises(MailError) as caught:
            await connect_smtp(server.endpoint(security, tls=policy), timeout=5)
    _certificate_error(caught.value, "pin_mismatch", cert)
    assert server.auth == []
    assert not server.saw_in_plaintext(PASSWORD)


async def test_fetch_leaf_certificate() -> None:
    cert = self_signed()
    async with smtp_server(SmtpFaults(cert=cert, implicit_tls=True)) as server:
        leaf = await tls.fetch_leaf_certificate("127.0.0.1", server.port, timeout=5)
    assert leaf.fingerprint == hashlib.sha256(cert.der).hexdigest()
    assert leaf.self_signed
    assert not leaf.expired


def test_normalise_fingerprint() -> None:
    digest = "ab" * 32
    colons = ":".join(["AB"] * 32)
    assert tls.normalise_fingerprint(colons) == digest
    assert tls.normalise_fingerprint(f"sha256/{digest}") == digest
    with pytest.raises(ValueError, match="64"):
        tls.normalise_fingerprint("abcd")


def test_verified_context_checks_names() -> None:
    context = tls.client_context(TlsPolicy(ca_pem=pki().ca_pem))
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    pinned = tls.client_context(TlsPolicy(pin_sha256="ab" * 32))
    assert pinned.verify_mode == ssl.CERT_NONE


def _postfix_leaf_der() -> bytes:
    with open(ms.SERVER_CERT_FILE) as handle:
        return ssl.PEM_cert_to_DER_cert(handle.read())


@pytest.mark.mailserver
async def test_postfix_without_the_test_ca_is_unknown(mailserver: None) -> None:
    user = ms.create_user("tls")
    endpoint = user.smtp_endpoint()
    untrusted = type(endpoint)(**{**endpoint.__dict__, "tls": TlsPolicy()})
    with pytest.raises(MailError) as caught:
        await connect_smtp(untrusted, timeout=10)
    assert caught.value.params["reason"] == "unknown_ca"
    der = _postfix_leaf_der()
    assert caught.value.params["fingerprint"] == hashlib.sha256(der).hexdigest()
    pinned = type(endpoint)(
        **{**endpoint.__dict__, "tls": TlsPolicy(pin_sha256=tls.fingerprint(der))}
    )
    async with await connect_smtp(pinned, timeout=10) as smtp:
        assert smtp.mechanism == "PLAIN"
