"""The egress policy's address rules, and CA certificates as PEM text (never a path)."""

from __future__ import annotations

import os
import stat

import pytest
import trustme

from fluenzr.core.egress import EgressPolicy, refusal
from fluenzr.errors import ValidationError
from fluenzr.services import account_rules as rules

MULTI = EgressPolicy.MULTI_TENANT
SINGLE = EgressPolicy.SINGLE_USER


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("100.64.0.1", "cgnat"),
        ("169.254.10.10", "link_local"),
        ("fe80::1", "link_local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_multi_tenant_refuses_every_inward_address(address: str, kind: str) -> None:
    assert refusal(address, policy=MULTI, purpose="mail") == kind
    assert refusal(address, policy=MULTI, purpose="webhook") == kind


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "192.168.1.10", "10.0.0.2"])
def test_single_user_keeps_loopback_and_private_reachable(address: str) -> None:
    assert refusal(address, policy=SINGLE, purpose="mail") is None
    assert refusal(address, policy=SINGLE, purpose="webhook") is None


def test_metadata_and_link_local_are_refused_for_webhooks_under_every_policy() -> None:
    for policy in EgressPolicy:
        assert refusal("169.254.169.254", policy=policy, purpose="webhook") == "metadata"
        assert refusal("fd00:ec2::254", policy=policy, purpose="webhook") == "metadata"
        assert refusal("169.254.1.1", policy=policy, purpose="webhook") == "link_local"
        assert refusal("169.254.169.254", policy=policy, purpose="mail") == "metadata"


@pytest.mark.parametrize("address", ["203.0.114.7", "8.8.8.8", "2001:4860:4860::8888"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(address, policy=MULTI, purpose="webhook") is None


def test_server_paths_are_just_invalid_pem_with_one_message(tmp_path: object) -> None:
    fifo = os.path.join(str(tmp_path), "fifo")
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    answers = set()
    for path in ("/dev/zero", "/etc/shadow", "/etc", "/nonexistent/ca.pem", fifo):
        with pytest.raises(ValidationError) as caught:
            rules.ca_pem(path, field="smtp_ca_pem")  # returns at once: nothing is opened
        error = caught.value
        assert (error.code, error.params) == ("ca_pem_invalid", {"field": "smtp_ca_pem"})
        for lang in ("es", "en", "fr"):
            answers.add((lang, error.message(lang), error.hint(lang)))
    assert len(answers) == 3  # one answer per language, whatever the path


def test_pem_text_is_validated_and_canonicalised() -> None:
    ca = trustme.CA()
    pem = ca.cert_pem.bytes().decode()
    assert rules.ca_pem(f"comment before\n{pem}\ntrailing", field="smtp_ca_pem") == pem
    assert rules.ca_pem("", field="smtp_ca_pem") is None
    assert rules.ca_pem(None, field="smtp_ca_pem") is None
    bundle = pem + trustme.CA().cert_pem.bytes().decode()
    assert rules.ca_pem(bundle, field="imap_ca_pem") == bundle
    key = ca.issue_cert("example.com").private_key_pem.bytes().decode()
    for text, code in (
        (key, "ca_pem_private_key"),
        (pem + key, "ca_pem_private_key"),
        ("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----", "ca_pem_invalid"),
        ("x" * (rules.CA_PEM_MAX_BYTES + 1), "ca_pem_too_large"),
    ):
        with pytest.raises(ValidationError) as caught:
            rules.ca_pem(text, field="imap_ca_pem")
        assert caught.value.code == code
        assert caught.value.params["field"] == "imap_ca_pem"
