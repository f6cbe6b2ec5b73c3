"""Each broken zone yields exactly the expected finding — against a real authoritative DNS
server on 127.0.0.1 (dnslib's) serving the case's zone, and test mails signed by dkimpy."""

from __future__ import annotations

import datetime as dt

import pytest

from fluenzr.diagnose.domain_checks.check import check_domain, check_test_mail, domain_checks
from fluenzr.diagnose.domain_checks.findings import Finding, Severity
from tests.support.deliverability import dkim_record, probar_mail, rsa_key, zone
from tests.support.zone_server import ZoneServer, txt

NOW = dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC)


def bad(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.check, f.severity.value, f.code) for f in findings if f.severity is not Severity.OK]


@pytest.fixture(scope="module")
def key2048() -> bytes:
    return rsa_key(2048)


def serve(text: str) -> ZoneServer:
    return ZoneServer(text)


async def domain_findings(text: str, domain: str = "good.test", **kw: object) -> list[Finding]:
    with serve(text) as server:
        report = await check_domain(server.lookup(), domain, now=NOW, **kw)  # type: ignore[arg-type]
    return report.findings


async def mail_findings(text: str, raw: bytes) -> list[Finding]:
    with serve(text) as server:
        lookup = server.lookup()
        checks = await domain_checks(lookup, "good.test", sending_ip="127.0.0.1")
        evidence = await check_test_mail(lookup, raw, spf=checks.spf)
    return [*checks.findings, *evidence.findings]


async def test_good_domain_is_all_green(key2048: bytes) -> None:
    text = zone(dkim_keys={"s1": dkim_record(key2048)})
    findings = await mail_findings(text, probar_mail(key=key2048))
    assert bad(findings) == []
    codes = {f.check: f.code for f in findings}
    assert codes == {
        "mx": "mx_ok", "spf": "spf_ok", "dmarc": "dmarc_ok", "dkim": "dkim_ok",
        "alignment": "aligned", "rdns": "rdns_ok", "tls": "tls_all_hops",
    }  # fmt: skip
    evidence = {f.check: f.record for f in findings}
    assert evidence["spf"].startswith("v=spf1 ip4:127.0.0.1")
    assert evidence["rdns"] == "127.0.0.1 → mail.good.test"
    assert evidence["dkim"] == "d=good.test s=s1, rsa-2048"


@pytest.mark.parametrize(
    ("spf", "expected"),
    [
        (None, ("spf", "error", "spf_missing")),
        ("v=spf1 +all", ("spf", "warning", "spf_pass_all")),
        ("v=spf1 ip4:127.0.0.1 ?all", ("spf", "warning", "spf_neutral_all")),
        ("v=spf1 ip4:127.0.0.1 ip5:1.2.3.4 -all", ("spf", "error", "spf_syntax")),
        (
            "v=spf1 " + " ".join(f"a:h{i}.good.test" for i in range(11)) + " -all",
            ("spf", "error", "spf_too_many_lookups"),
        ),
    ],
)
async def test_each_broken_spf_yields_its_finding(
    spf: str | None, expected: tuple[str, ...]
) -> None:
    assert bad(await domain_findings(zone(spf=spf))) == [expected]


async def test_eleven_lookups_counted_through_includes() -> None:
    # 3 in the record + 4 in each of two nested includes = 11 (RFC 7208 §4.6.4 counts includes).
    four = " ".join(f"a:x{i}.good.test" for i in range(4))
    extra = (
        f"inc1.good.test. 60 IN TXT {txt('v=spf1 include:inc2.good.test ' + four + ' -all')}\n"
        f"inc2.good.test. 60 IN TXT {txt('v=spf1 ' + four + ' -all')}\n"
    )
    text = zone(spf="v=spf1 mx include:inc1.good.test ip4:127.0.0.1 -all", extra=extra)
    assert bad(await domain_findings(text)) == [("spf", "error", "spf_too_many_lookups")]
    ten = zone(spf="v=spf1 include:inc1.good.test ip4:127.0.0.1 -all", extra=extra)
    assert bad(await domain_findings(ten)) == []  # exactly 10 passes


async def test_two_spf_records_and_an_include_loop() -> None:
    two = zone(extra=f"good.test. 60 IN TXT {txt('v=spf1 -all')}\n")
    assert bad(await domain_findings(two)) == [("spf", "error", "spf_multiple")]
    loop = zone(
        spf="v=spf1 include:l.good.test -all",
        extra=f"l.good.test. 60 IN TXT {txt('v=spf1 include:good.test -all')}\n",
    )
    assert bad(await domain_findings(loop)) == []  # a loop is not followed twice


async def test_provider_include_required_for_a_preset_account() -> None:
    text = zone()  # no include:mx.ovh.com
    findings = await domain_findings(text, provider_key="ovh")
    assert bad(findings) == [("spf", "error", "spf_provider_missing")]
    [finding] = [f for f in findings if f.code == "spf_provider_missing"]
    assert "include:mx.ovh.com" in (finding.fix("en") or "")
    with_include = zone(
        spf="v=spf1 include:mx.ovh.com -all",
        extra=f"mx.ovh.com. 60 IN TXT {txt('v=spf1 ip4:198.51.100.0/24 -all')}\n",
    )
    assert bad(await domain_findings(with_include, provider_key="ovh")) == []


@pytest.mark.parametrize(
    ("dmarc", "expected"),
    [
        (None, [("dmarc", "error", "dmarc_missing")]),
        ("v=DMARC1; p=none; rua=mailto:d@good.test", [("dmarc", "warning", "dmarc_policy_none")]),
        ("v=DMARC1; p=reject; pct=50; rua=mailto:d@good.test", [("dmarc", "warning", "dmarc_pct")]),
        ("v=DMARC1; p=quarantine", [("dmarc", "warning", "dmarc_no_rua")]),
        ("v=DMARC1; p=maybe", [("dmarc", "error", "dmarc_syntax")]),
    ],
)
async def test_each_dmarc_case(dmarc: str | None, expected: list[tuple[str, ...]]) -> None:
    assert bad(await domain_findings(zone(dmarc=dmarc))) == expected


async def test_dmarc_falls_back_to_the_organisational_domain() -> None:
    text = zone(domain="mail.good.test", dmarc=None) + zone(spf=None)
    findings = await domain_findings(text, domain="mail.good.test")
    assert [f.code for f in findings if f.check == "dmarc"] == ["dmarc_ok"]


async def test_no_mx() -> None:
    text = "\n".join(line for line in zone().splitlines() if " MX " not in line)
    assert bad(await domain_findings(text)) == [("mx", "error", "mx_missing")]


async def test_provider_from_mx_drives_the_expected_include() -> None:
    text = zone().replace("MX 10 mail.good.test.", "MX 10 mx1.mail.ovh.net.")
    findings = await domain_findings(text)
    assert [(f.code, f.params.get("provider")) for f in findings if f.check == "mx"] == [
        ("mx_provider", "OVH Mail")
    ]
    assert ("spf", "error", "spf_provider_missing") in bad(findings)


async def test_dkim_key_missing(key2048: bytes) -> None:
    findings = await mail_findings(zone(), probar_mail(key=key2048))
    assert bad(findings) == [("dkim", "error", "dkim_key_missing")]


async def test_dkim_wrong_key(key2048: bytes) -> None:
    wrong = dkim_record(rsa_key(3072))
    findings = await mail_findings(zone(dkim_keys={"s1": wrong}), probar_mail(key=key2048))
    assert bad(findings) == [("dkim", "error", "dkim_signature_invalid")]


async def test_dkim_512_bit_key() -> None:
    small = rsa_key(512)
    findings = await mail_findings(
        zone(dkim_keys={"s1": dkim_record(small)}), probar_mail(key=small)
    )
    assert bad(findings) == [("dkim", "error", "dkim_key_too_small")]
    [finding] = [f for f in findings if f.check == "dkim"]
    assert finding.params["bits"] == "512"


async def test_dkim_1024_bit_key_is_a_warning() -> None:
    key = rsa_key(1024)
    findings = await mail_findings(zone(dkim_keys={"s1": dkim_record(key)}), probar_mail(key=key))
    assert bad(findings) == [("dkim", "warning", "dkim_key_weak")]


async def test_dkim_misaligned_d(key2048: bytes) -> None:
    text = zone(dkim_keys={}) + zone(
        domain="provider.test",
        spf=None,
        dmarc=None,
        ptr=None,
        dkim_keys={"s1": dkim_record(key2048)},
    )
    findings = await mail_findings(text, probar_mail(key=key2048, d="provider.test"))
    assert bad(findings) == [("dkim", "error", "dkim_misaligned")]


async def test_unsigned_mail_and_dmarc_alignment_through_spf() -> None:
    findings = await mail_findings(zone(), probar_mail())
    assert bad(findings) == [("dkim", "error", "dkim_unsigned")]
    assert [f.code for f in findings if f.check == "alignment"] == ["aligned"]


async def test_unsigned_and_spf_not_authorising_the_ip_fails_dmarc() -> None:
    text = zone(spf="v=spf1 ip4:192.0.2.1 -all")
    findings = await mail_findings(text, probar_mail())
    assert bad(findings) == [
        ("spf", "error", "spf_ip_not_authorised"),
        ("dkim", "error", "dkim_unsigned"),
        ("alignment", "error", "unaligned"),
    ]


async def test_ptr_missing(key2048: bytes) -> None:
    text = zone(ptr=None, dkim_keys={"s1": dkim_record(key2048)})
    findings = await mail_findings(text, probar_mail(key=key2048))
    assert bad(findings) == [("rdns", "error", "rdns_missing")]


async def test_ptr_mismatching(key2048: bytes) -> None:
    text = zone(ptr="other.good.test", mail_a="192.0.2.7", dkim_keys={"s1": dkim_record(key2048)})
    findings = await mail_findings(text, probar_mail(key=key2048))
    assert bad(findings) == [("rdns", "error", "rdns_mismatch")]


async def test_plain_hop_is_a_warning(key2048: bytes) -> None:
    plain = "from [127.0.0.1] (localhost [127.0.0.1]) by mail.good.test (Postfix) with ESMTP id 1"
    raw = probar_mail(key=key2048, received=(plain,))
    findings = await mail_findings(zone(dkim_keys={"s1": dkim_record(key2048)}), raw)
    assert bad(findings) == [("tls", "warning", "tls_hop_plain")]


async def test_rfc8058_headers_must_be_signed(key2048: bytes) -> None:
    headers = {
        "List-Unsubscribe": "<https://u.good.test/u/1>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    text = zone(dkim_keys={"s1": dkim_record(key2048)})
    unsigned = probar_mail(key=key2048, extra=headers)
    assert bad(await mail_findings(text, unsigned)) == [
        ("unsubscribe", "warning", "unsubscribe_not_signed")
    ]
    both = (
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    )
    signed = probar_mail(key=key2048, extra=headers, sign_headers=both)
    findings = await mail_findings(text, signed)
    assert bad(findings) == []
    assert [f.code for f in findings if f.check == "unsubscribe"] == ["unsubscribe_signed"]


async def test_authentication_results_are_shown(key2048: bytes) -> None:
    text = zone(dkim_keys={"s1": dkim_record(key2048)})
    results = "mx.good.test; spf=pass smtp.mailfrom=good.test; dkim=fail (bad) header.d=good.test"
    extra = {"Authentication-Results": results}
    findings = await mail_findings(text, probar_mail(key=key2048, extra=extra))
    assert bad(findings) == [("auth_results", "warning", "auth_results_fail")]
    [finding] = [f for f in findings if f.check == "auth_results"]
    assert finding.record == "mx.good.test: spf=pass, dkim=fail"


def dnsbl_zone(code: str) -> str:
    return f"1.0.0.127.bl.test. 60 IN A {code}\n"


@pytest.mark.parametrize(
    ("answer", "code"),
    [(None, "dnsbl_clean"), ("127.0.0.2", "dnsbl_listed"), ("127.255.255.254", "dnsbl_refused")],
)
async def test_dnsbl_when_configured(answer: str | None, code: str, key2048: bytes) -> None:
    text = zone(dkim_keys={"s1": dkim_record(key2048)}) + (dnsbl_zone(answer) if answer else "")
    with serve(text) as server:
        evidence = await check_test_mail(
            server.lookup(), probar_mail(key=key2048), dnsbl_zones=["bl.test"]
        )
    assert [f.code for f in evidence.dnsbl] == [code]


async def test_hostile_dns_answers_stay_bounded() -> None:
    # 40 TXT records, a 3000-character SPF, a chain of 30 includes: bounded answers, no crash.
    huge = "v=spf1 " + " ".join(f"ip4:10.0.{i // 250}.{i % 250}" for i in range(200)) + " -all"
    chain = "".join(
        f"c{i}.good.test. 60 IN TXT {txt(f'v=spf1 include:c{i + 1}.good.test -all')}\n"
        for i in range(30)
    )
    many = "".join(f"good.test. 60 IN TXT {txt(f'junk {i}')}\n" for i in range(40))
    [finding] = [f for f in await domain_findings(zone(spf=huge)) if f.check == "spf"]
    assert (finding.code, finding.params["problem"]) == ("spf_syntax", "too many terms")
    text = zone(spf="v=spf1 include:c0.good.test -all", extra=chain + many)
    with serve(text) as server:
        findings = (await check_domain(server.lookup(), "good.test", now=NOW)).findings
        assert len(server.zone) > 0
    assert bad(findings) == [("spf", "error", "spf_too_many_lookups")]


async def test_the_include_walk_has_a_time_budget() -> None:
    from fluenzr.diagnose.domain_checks.spf import check_spf

    chain = "".join(
        f"c{i}.good.test. 60 IN TXT {txt(f'v=spf1 include:c{i + 1}.good.test -all')}\n"
        for i in range(12)
    )
    with serve(zone(spf="v=spf1 include:c0.good.test -all", extra=chain)) as server:
        outcome = await check_spf(server.lookup(), "good.test", budget=0.0)
    assert bad(outcome.findings) == [("spf", "error", "dns_failed")]
