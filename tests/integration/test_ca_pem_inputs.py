"""A CA certificate is PEM text, never a server path: through the REST API and the web form,
server paths (a device that never ends, a secret file, a directory, a missing file) are just
text that is not PEM — refused with the very same answer, so nothing tells whether the path
exists, and nothing on the server is ever opened. Valid PEM is stored and verifies a real TLS
server."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import httpx
import pytest
import trustme

from fluenzr.errors import MailError
from fluenzr.mail.smtp import connect_smtp
from fluenzr.services.accounts import open_credentials
from fluenzr.services.context import AppContext
from tests.e2e.server import (
    Caller,
    admin,
    csrf_of,
    serve,
    set_up_admin_over_http,
)
from tests.support.certs import pki
from tests.support.fault_smtp import SmtpFaults, smtp_server

PATHS = ["/dev/zero", "/etc/shadow", "/etc", "/nonexistent/ca.pem", "../../etc/shadow"]
ACCOUNT = {
    "email": "ana@example.com",
    "display_name": "Ana",
    "smtp_host": "smtp.example.com",
    "smtp_port": 587,
    "smtp_security": "tls",
    "password": "S3cret-Pa55word",
    "imap_host": "imap.example.com",
    "imap_password": "Imap-Pa55word",  # another host: its own password (endpoint binding)
}


@pytest.fixture
def base_url(app: AppContext) -> Iterator[str]:
    with serve(app, sending=False) as url:
        yield url


@pytest.fixture
def caller(app: AppContext) -> Caller:
    return admin(app)


def _api(url: str, caller: Caller) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Accept-Language": "es", **caller.headers})


def test_api_refuses_server_paths_identically(base_url: str, caller: Caller) -> None:
    answers = set()
    with _api(base_url, caller) as http:
        for index, path in enumerate(PATHS):
            for field in ("smtp_ca_pem", "imap_ca_pem"):
                body = {**ACCOUNT, "email": f"a{index}@example.com", field: path}
                reply = http.post("/api/v1/accounts", json=body)
                assert reply.status_code == 422, reply.text
                problem = reply.json()
                assert (problem["code"], problem["field"]) == ("ca_pem_invalid", field)
                assert path not in reply.text  # the input is not echoed
                answers.add((field, problem["message"], problem["hint"]))
        assert len(answers) == 2  # one answer per field, whatever the path
        assert http.get("/api/v1/accounts").json() == []  # nothing written
        created = http.post("/api/v1/accounts", json=ACCOUNT).json()
        patched = http.patch(f"/api/v1/accounts/{created['id']}", json={"smtp_ca_pem": "/etc"})
        assert patched.status_code == 422 and patched.json()["code"] == "ca_pem_invalid"
        no_auth = http.patch(f"/api/v1/accounts/{created['id']}", json={"smtp_auth": False})
        assert no_auth.status_code == 200 and no_auth.json()["smtp_auth"] is False


def test_api_refuses_keys_garbage_and_oversize(base_url: str, caller: Caller) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("example.com")
    cases = {
        "ca_pem_private_key": leaf.private_key_pem.bytes().decode(),
        "ca_pem_invalid": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "ca_pem_too_large": (ca.cert_pem.bytes().decode() * 100)[:66_000],
    }
    with _api(base_url, caller) as http:
        for code, text in cases.items():
            reply = http.post("/api/v1/accounts", json={**ACCOUNT, "smtp_ca_pem": text})
            assert reply.status_code == 422, (code, reply.text[:300])
            assert reply.json()["code"] == code
            assert reply.json()["field"] == "smtp_ca_pem"


def test_web_form_refuses_server_paths_identically(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as http:
        set_up_admin_over_http(http)
        form = http.get("/accounts/new")
        assert 'name="ca_file"' not in form.text  # no path input at all
        assert '<textarea id="smtp_ca_pem"' in form.text
        token = csrf_of(form.text)
        fields = {
            "csrf": token,
            "action": "save",
            "email": "ana@example.com",
            "display_name": "Ana",
            "smtp_host": "smtp.example.com",
            "smtp_port": "587",
            "password": "Very-Secret-Smtp-Pass-42",
            "smtp_security": "starttls",
        }
        errors = set()
        for path in PATHS:
            reply = http.post("/accounts/new", data={**fields, "smtp_ca_pem": path})
            assert reply.status_code == 422
            found = re.search(r'<p class="field-error" id="smtp_ca_pem-error".*?</p>', reply.text)
            assert found, reply.text[-2000:]
            errors.add(found.group(0))
            live = http.post(
                "/accounts/new/check",
                data={"csrf": token, "smtp_ca_pem": path},
                headers={"HX-Trigger-Name": "smtp_ca_pem"},
            )
            assert live.status_code == 200 and "smtp_ca_pem-error" in live.text
        assert len(errors) == 1
        valid = {**fields, "smtp_ca_pem": pki().ca_pem, "no_auth": "1"}
        assert http.post("/accounts/new", data=valid).status_code == 303


async def test_valid_pem_is_stored_and_verifies_a_real_tls_server(app: AppContext) -> None:
    from fluenzr.services.account_config import AccountInput
    from fluenzr.services.accounts import create_account
    from fluenzr.services.context import default_workspace_id

    async with smtp_server(SmtpFaults()) as server:
        endpoint = server.endpoint()
        data = AccountInput(
            email="ana@example.com",
            smtp_host=endpoint.host,
            smtp_port=endpoint.port,
            smtp_security="starttls",
            username=endpoint.username,
            password=endpoint.password,
            smtp_ca_pem="\n  " + pki().ca_pem + "\n",
            force=True,
        )
        view = create_account(app, workspace_id=default_workspace_id(app.sessions), data=data)
        assert view.smtp_ca_pem == pki().ca_pem  # canonical PEM, nothing else kept
        credentials = open_credentials(app, account_id=view.id)
        async with await connect_smtp(credentials.smtp, timeout=5) as smtp:
            assert smtp.secure
        # Another CA's PEM does not verify this server.
        stranger = trustme.CA().cert_pem.bytes().decode()
        other = dataclasses.replace(
            credentials.smtp, tls=dataclasses.replace(credentials.smtp.tls, ca_pem=stranger)
        )
        with pytest.raises(MailError) as caught:
            await connect_smtp(other, timeout=5)
        assert caught.value.code == "certificate_invalid"
        assert len(server.auth) == 1  # only the verified connection logged in
