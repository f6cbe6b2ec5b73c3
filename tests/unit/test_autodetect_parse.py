"""Autodetect without I/O: autoconfig parsing, ranking of sources, the guess plan."""

from __future__ import annotations

import pytest

from fluenzr.core.endpoints import Security
from fluenzr.diagnose import autoconfig, guess
from fluenzr.diagnose.candidates import RANK, Confidence, ServerProposal, Source, best

EMAIL = "ana.garcia@example.test"

DOC = """<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <incomingServer type="pop3">
      <hostname>pop.example.test</hostname><port>995</port><socketType>SSL</socketType>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.test</hostname><port>25</port><socketType>plain</socketType>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>SMTP.example.test</hostname><port>587</port><socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>"""


def test_autoconfig_parse_takes_smtp_and_imap_with_placeholders() -> None:
    found = autoconfig.parse(DOC, email=EMAIL, url="https://autoconfig.example.test/x?e=1")
    assert [(p.protocol, p.host, p.port, p.security, p.username) for p in found] == [
        ("smtp", "smtp.example.test", 587, Security.STARTTLS, EMAIL),
        ("imap", "imap.example.test", 993, Security.SSL, "ana.garcia"),
    ]
    assert {p.source for p in found} == {Source.AUTOCONFIG}
    assert found[0].detail == "https://autoconfig.example.test/x"


def test_autoconfig_plain_allowed_only_to_loopback() -> None:
    doc = DOC.replace("smtp.example.test</hostname><port>25", "127.0.0.1</hostname><port>1025")
    first = autoconfig.parse(doc, email=EMAIL)[0]
    assert (first.host, first.port, first.security) == ("127.0.0.1", 1025, Security.NONE)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><clientConfig/>', "DOCTYPE"),
        ("<html><body>hello</body></html>", "clientConfig"),
        ("not xml at all <", "not XML"),
        ('<clientConfig><emailProvider id="x"/></clientConfig>', "no SMTP/IMAP"),
    ],
)
def test_autoconfig_rejects_unsafe_or_useless_documents(text: str, why: str) -> None:
    with pytest.raises(autoconfig.AutoconfigError, match=why):
        autoconfig.parse(text, email=EMAIL)


def _proposal(source: Source, host: str, protocol: str = "smtp") -> ServerProposal:
    return ServerProposal(protocol, host, 587, Security.STARTTLS, EMAIL, source, Confidence.HIGH)


def test_priority_is_preset_autoconfig_srv_mx_guess() -> None:
    assert sorted(RANK, key=RANK.__getitem__) == [
        Source.PRESET,
        Source.AUTOCONFIG,
        Source.SRV,
        Source.MX,
        Source.GUESS,
    ]
    proposals = [
        _proposal(Source.GUESS, "g"),
        _proposal(Source.MX, "m"),
        _proposal(Source.SRV, "s1"),
        _proposal(Source.SRV, "s2"),
        _proposal(Source.AUTOCONFIG, "a", protocol="imap"),
    ]
    chosen = best(proposals, "smtp")
    assert chosen is not None
    assert chosen.host == "s1"  # best source, then the order that source gave
    imap = best(proposals, "imap")
    assert imap is not None
    assert imap.host == "a"
    assert best([], "smtp") is None


def test_guess_plan_prefers_implicit_tls_then_starttls() -> None:
    plan = guess.targets("example.test")
    assert [(t.protocol, t.host, t.port, t.security) for t in plan] == [
        ("smtp", "smtp.example.test", 465, Security.SSL),
        ("smtp", "smtp.example.test", 587, Security.STARTTLS),
        ("smtp", "mail.example.test", 465, Security.SSL),
        ("smtp", "mail.example.test", 587, Security.STARTTLS),
        ("imap", "imap.example.test", 993, Security.SSL),
        ("imap", "imap.example.test", 143, Security.STARTTLS),
        ("imap", "mail.example.test", 993, Security.SSL),
        ("imap", "mail.example.test", 143, Security.STARTTLS),
    ]
    assert [t.protocol for t in guess.targets("x.test", protocols=("imap",))] == ["imap"] * 4
