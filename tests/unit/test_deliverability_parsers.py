"""The deliverability parsers, one by one, and their behaviour on hostile input (no I/O)."""

from __future__ import annotations

import contextlib
import time

import pytest

from fluenzr.config import Settings
from fluenzr.core.nameservers import parse_nameservers
from fluenzr.diagnose.domain_checks.auth_results import parse_authentication_results
from fluenzr.diagnose.domain_checks.check import normalise_domain, read_evidence
from fluenzr.diagnose.domain_checks.dkim_signature import (
    TagListError,
    parse_key,
    parse_signature,
    parse_tag_list,
)
from fluenzr.diagnose.domain_checks.dmarc import DmarcSyntaxError, is_dmarc, parse_dmarc
from fluenzr.diagnose.domain_checks.findings import Finding, Severity, most_serious_first, score
from fluenzr.diagnose.domain_checks.headers import from_domain, header_fields
from fluenzr.diagnose.domain_checks.orgdomain import aligned, organisational_domain
from fluenzr.diagnose.domain_checks.received import hops, parse_received, sending_ip
from fluenzr.diagnose.domain_checks.spf_record import SpfSyntaxError, is_spf, parse_spf
from fluenzr.diagnose.domain_checks.tls_hops import check_tls
from fluenzr.errors import ConfigError, ValidationError
from fluenzr.presets.catalogue import get_preset, provider_for_mx

# -- FLUENZR_DNS_SERVERS -----------------------------------------------------------------------


def test_nameservers_parse() -> None:
    assert parse_nameservers("") == []
    assert parse_nameservers("127.0.0.1:5353, 9.9.9.9,[::1]:54,::1,localhost") == [
        ("127.0.0.1", 5353), ("9.9.9.9", 53), ("::1", 54), ("::1", 53), ("127.0.0.1", 53),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "bad", ["dns.example", "1.2.3.4:0", "1.2.3.4:99999", "[::1", ",".join(["1.1.1.1"] * 9)]
)
def test_nameservers_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_nameservers(bad)


def test_settings_take_a_list_or_a_string(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(dns_servers=["127.0.0.1:5353", "::1"]).nameservers == [
        ("127.0.0.1", 5353), ("::1", 53),
    ]  # fmt: skip
    monkeypatch.setenv("FLUENZR_DNS_SERVERS", "127.0.0.1:5300")
    assert Settings().nameservers == [("127.0.0.1", 5300)]
    assert Settings(dns_servers="").nameservers == []


def test_a_bad_dns_server_setting_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from fluenzr.config import load_settings

    monkeypatch.setenv("FLUENZR_DNS_SERVERS", "resolver.example")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.params["setting"] == "FLUENZR_DNS_SERVERS"


# -- SPF -----------------------------------------------------------------------------------------


def test_spf_record_terms() -> None:
    record = parse_spf(
        "v=spf1 a mx/24 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.google.com ~all"
    )
    assert [d.mechanism for d in record.directives] == ["a", "mx", "ip4", "ip6", "include", "all"]
    assert record.local_lookups == 3
    assert record.all_qualifier == "~"
    assert parse_spf("v=spf1 redirect=_spf.example.com").redirect == "_spf.example.com"
    assert parse_spf("V=SPF1 -ALL").all_qualifier == "-"


@pytest.mark.parametrize(
    "bad",
    [
        "v=spf1 ip4:300.0.0.1 -all",
        "v=spf1 ip4:2001:db8::1 -all",
        "v=spf1 include: -all",
        "v=spf1 all:x",
        "v=spf1 foo:bar",
        "v=spf1 a/99 -all",
        "v=spf1 redirect=a.example redirect=b.example",
        "v=spf1 " + "a " * 101,
    ],
)
def test_spf_syntax_errors(bad: str) -> None:
    with pytest.raises(SpfSyntaxError):
        parse_spf(bad)


def test_is_spf() -> None:
    assert is_spf("v=spf1") and is_spf("v=spf1 -all")
    assert not is_spf("v=spf10 -all") and not is_spf("spf2.0/pra") and not is_spf("")


# -- DMARC ---------------------------------------------------------------------------------------


def test_dmarc_record() -> None:
    record = parse_dmarc("v=DMARC1; p=Quarantine; pct=50; rua=mailto:d@x.test; adkim=s")
    assert (record.policy, record.pct, record.strict_dkim, record.strict_spf) == (
        "quarantine", 50, True, False,
    )  # fmt: skip
    assert is_dmarc("v=DMARC1;p=none") and not is_dmarc("v=spf1 -all")


@pytest.mark.parametrize(
    "bad",
    [
        "v=DMARC1",
        "v=DMARC1; p=maybe",
        "p=none; v=DMARC1",
        "v=DMARC1; p=none; pct=200",
        "v=DMARC1; p=none; adkim=x",
        "v=DMARC1; p=none; junk",
    ],
)
def test_dmarc_syntax_errors(bad: str) -> None:
    with pytest.raises(DmarcSyntaxError):
        parse_dmarc(bad)


def test_organisational_domain_uses_the_public_suffix_list() -> None:
    assert organisational_domain("mail.example.co.uk") == "example.co.uk"
    assert organisational_domain("a.b.example.com") == "example.com"
    assert aligned("mail.example.com", "example.com")
    assert not aligned("mail.example.com", "example.com", strict=True)
    assert not aligned("example.co.uk", "other.co.uk")


# -- DKIM ----------------------------------------------------------------------------------------

SIGNATURE = (
    "v=1; a=rsa-sha256; c=relaxed/relaxed; d=Example.com; s=fz1;\r\n t=1; bh=abc=;\r\n"
    " h=From:To:Subject:List-Unsubscribe;\r\n b=AAAA\r\n BBBB"
)


def _public_key_b64(bits: int) -> str:
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def test_signature_tags() -> None:
    signature = parse_signature(SIGNATURE)
    assert (signature.domain, signature.selector, signature.key_name) == (
        "example.com", "fz1", "fz1._domainkey.example.com",
    )  # fmt: skip
    assert signature.signed_headers == ("from", "to", "subject", "list-unsubscribe")
    with pytest.raises(TagListError):
        parse_tag_list("a=1; a=2")
    with pytest.raises(TagListError):
        parse_signature("v=1; d=example.com")


def test_key_records() -> None:
    key = parse_key(f"v=DKIM1; k=rsa; p={_public_key_b64(2048)}")
    assert (key.kind, key.bits) == ("rsa", 2048)
    for bad in [
        "v=DKIM1; p=",
        "v=DKIM1; p=!!!",
        "v=DKIM2; p=AAAA",
        "v=DKIM1; k=dsa; p=AAAA",
        "v=DKIM1; p=AAAA",
    ]:
        with pytest.raises(TagListError):
            parse_key(bad)


# -- Received, TLS, Authentication-Results -------------------------------------------------------

POSTFIX = (
    "from [127.0.0.1] (localhost [127.0.0.1]) by mail.fluenzr.test (Postfix) with ESMTPSA id 39A2"
    " for <a@fluenzr.test>; Tue,  1 Dec 2026 23:32:41 +0000 (UTC)"
)
SENDMAIL = (
    "from out.example.net (out.example.net [198.51.100.7]) by mx.example.org (8.17.1/8.17.1) "
    "with ESMTP id 1B1 (version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT); "
    "Tue, 1 Dec 2026 23:32:41 +0000"
)
PLAIN = "from h.example.net (h.example.net [IPv6:2001:db8::5]) by mx.example.org with SMTP id 9"
LMTP = "from mail.fluenzr.test by vm with LMTP id 6CY (envelope-from <a@fluenzr.test>)"


def test_received_fields() -> None:
    hop = parse_received(POSTFIX)
    assert (hop.ip, hop.by, hop.protocol, hop.tls, hop.network) == (
        "127.0.0.1", "mail.fluenzr.test", "esmtpsa", True, True,
    )  # fmt: skip
    assert parse_received(SENDMAIL).tls and parse_received(SENDMAIL).ip == "198.51.100.7"
    plain = parse_received(PLAIN)
    assert (plain.ip, plain.tls) == ("2001:db8::5", False)
    assert not parse_received(LMTP).network
    path = hops([LMTP, SENDMAIL, PLAIN])
    assert sending_ip(path) == "198.51.100.7"
    finding = check_tls(path)
    assert finding is not None and finding.code == "tls_hop_plain"
    assert check_tls(hops([LMTP])) is None


def test_authentication_results() -> None:
    parsed = parse_authentication_results(
        "mx.google.com; dkim=pass (2048-bit key) header.i=@example.com header.s=s1;"
        " spf=pass (google.com: domain of a@example.com) smtp.mailfrom=a@example.com;"
        " dmarc=pass (p=REJECT) header.from=example.com"
    )
    assert parsed.authserv_id == "mx.google.com"
    assert [(r.method, r.result) for r in parsed.results] == [
        ("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass"),
    ]  # fmt: skip
    assert parsed.results[0].properties["header.s"] == "s1"
    assert parse_authentication_results("mx.example.org; none").results == []


def test_header_fields_unfold_and_find_from() -> None:
    raw = (
        b"Received: from a\r\n\tby b with ESMTPS\r\nFrom: Ana <Ana@Example.COM>\r\n\r\nbody: no\r\n"
    )
    fields = header_fields(raw)
    assert fields == [("received", "from a by b with ESMTPS"), ("from", "Ana <Ana@Example.COM>")]
    assert from_domain(fields) == "example.com"
    assert from_domain([*fields, ("from", "b@other.test")]) is None  # two From fields


# -- findings, domains, presets ------------------------------------------------------------------


def test_score_and_order() -> None:
    findings = [
        Finding.of("spf", Severity.OK, "spf_ok", lookups=1),
        Finding.of("dmarc", Severity.WARNING, "dmarc_policy_none"),
        Finding.of("dkim", Severity.ERROR, "dkim_unsigned", variant="ovh", domain="x.test"),
    ]
    assert [f.check for f in most_serious_first(findings)] == ["dkim", "dmarc", "spf"]
    assert score(findings) == 67
    assert "OVH" in (findings[2].fix("en") or "")
    assert findings[0].fix("en") is None
    for lang in ("es", "en", "fr"):
        assert not findings[1].message(lang).startswith("deliv.")


def test_every_finding_code_has_text_and_a_fix() -> None:
    from fluenzr.i18n import catalogue

    keys = set(catalogue("en"))
    codes = {k.split(".")[1] for k in keys if k.startswith("deliv.")}
    ok_only = {
        "mx_ok",
        "mx_provider",
        "spf_ok",
        "dmarc_ok",
        "dkim_ok",
        "aligned",
        "rdns_ok",
        "tls_all_hops",
        "auth_results_ok",
        "unsubscribe_signed",
        "dnsbl_clean",
    }
    for code in codes - ok_only:
        assert f"deliv.{code}.fix" in keys, code


def test_normalise_domain() -> None:
    assert normalise_domain("Ana@Example.COM.") == "example.com"
    assert normalise_domain("münchen.de") == "xn--mnchen-3ya.de"
    for bad in ["", "localhost", "a..b", "-a.com", "a" * 64 + ".com", "x.com/../etc", "a b.com"]:
        with pytest.raises(ValidationError) as caught:
            normalise_domain(bad)
        assert caught.value.code == "domain_invalid"


def test_presets_carry_their_spf_include() -> None:
    assert get_preset("ovh").spf_include == "mx.ovh.com"
    assert get_preset("zoho-eu").spf_include == "zohomail.eu"
    google = provider_for_mx("aspmx.l.google.com")
    microsoft = provider_for_mx("example-com.mail.protection.outlook.com")
    assert google is not None and google.spf_include == "_spf.google.com"
    assert microsoft is not None and microsoft.spf_include == "spf.protection.outlook.com"


# -- hostile input: bounded and linear -----------------------------------------------------------


def _seconds(call: object, *args: object) -> float:
    started = time.perf_counter()
    with contextlib.suppress(ValueError, TagListError):
        call(*args)  # type: ignore[operator]
    return time.perf_counter() - started


@pytest.mark.parametrize(
    ("parser", "make"),
    [
        (parse_authentication_results, lambda n: "x; " + "(" * n + "dkim=pass" + ")" * n),
        (parse_received, lambda n: "from a " + "[" * n + " by b with ESMTP"),
        (parse_tag_list, lambda n: "a=" + "; " * n),
        (parse_dmarc, lambda n: "v=DMARC1; p=none;" + "x=" * n),
        (parse_spf, lambda n: "v=spf1 " + "ip4:" * n),
        (header_fields, lambda n: b"Received: x\r\n" + b" folded\r\n" * (n // 8)),
        (read_evidence, lambda n: b"Received: from a [" + b"[1" * (n // 2) + b"\r\n\r\n"),
    ],
)
def test_hostile_input_costs_linear_time(parser: object, make: object) -> None:
    small = _seconds(parser, make(1_000))  # type: ignore[operator]
    large = _seconds(parser, make(100_000))  # type: ignore[operator]
    assert large < max(0.5, small * 300), (small, large)


def test_header_block_is_capped() -> None:
    raw = b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n"
    assert len(header_fields(raw)) <= 500
