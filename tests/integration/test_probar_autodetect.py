"""Autodetect end to end against a local DNS server, a local HTTPS server and local greeters.

Nothing leaves 127.0.0.1: DNS goes to tests.support.dns_server, autoconfig to
tests.support.https_server (any host name is routed to it, SNI kept), and guessed hosts resolve
to 127.0.0.1 where the standard ports are mapped to small greeting servers on port 0.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace

import pytest
import trustme

from fluenzr.core.endpoints import Security
from fluenzr.diagnose.autodetect import AutodetectSeams, Detection, autodetect
from fluenzr.diagnose.candidates import Confidence, ServerProposal, Source
from fluenzr.diagnose.greeting_probe import GreetingProbe, ProbeOutcome, ProbeTarget
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.errors import ValidationError
from tests.support.dns_server import LocalDns, Zone
from tests.support.https_server import LocalHttps

EMAIL = "ana@example.test"
AUTOCONFIG = """<clientConfig version="1.1"><emailProvider id="example.test">
<incomingServer type="imap"><hostname>imap.example.test</hostname><port>993</port>
<socketType>SSL</socketType><username>%EMAILLOCALPART%</username></incomingServer>
<outgoingServer type="smtp"><hostname>smtp.example.test</hostname><port>465</port>
<socketType>SSL</socketType><username>%EMAILLOCALPART%</username></outgoingServer>
</emailProvider></clientConfig>"""
SRV_ZONE: Zone = {
    "_submission._tcp.example.test": {"SRV": ["0 1 587 submission.example.test."]},
    "_submissions._tcp.example.test": {"SRV": ["0 1 465 submissions.example.test."]},
    "_imaps._tcp.example.test": {"SRV": ["0 1 993 imaps.example.test."]},
    "_imap._tcp.example.test": {"SRV": ["0 0 0 ."]},
}
MX_ZONE: Zone = {"example.test": {"MX": ["10 mx1.mail.ovh.net.", "20 mx2.mail.ovh.net."]}}


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


class Greeters:
    """Greeting servers standing in for the standard ports 465/587/993/143 on 127.0.0.1."""

    def __init__(self, ca: trustme.CA) -> None:
        self.ca = ca
        self.ports: dict[int, int] = {}
        self.servers: list[asyncio.Server] = []

    async def add(self, standard: int, *, protocol: str, tls: bool, name: str) -> None:
        greeting = b"220 ready ESMTP\r\n" if protocol == "smtp" else b"* OK ready\r\n"

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(greeting)
            await writer.drain()
            writer.close()

        context = None
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ca.issue_cert(name).configure_cert(context)
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        self.servers.append(server)
        self.ports[standard] = server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        for server in self.servers:
            server.close()
            await server.wait_closed()


@pytest.fixture
async def greeters(ca: trustme.CA) -> AsyncIterator[Greeters]:
    found = Greeters(ca)
    yield found
    await found.close()


def seams_for(
    dns: LocalDns, https: LocalHttps, greeters: Greeters, *, timeout: float = 2.0
) -> AutodetectSeams:
    lookup = DnsLookup(dns.resolver(timeout=timeout), timeout=timeout)
    tls = ssl.create_default_context()
    greeters.ca.configure_trust(tls)
    inner = GreetingProbe(lookup=lookup, timeout=1.0, tls=tls)

    async def probe(target: ProbeTarget) -> ProbeOutcome:
        real = greeters.ports.get(target.port)
        if real is None:  # nothing listens on that standard port here
            return ProbeOutcome(target, False, False, 0, "closed")
        outcome = await inner(replace(target, port=real))
        return replace(outcome, target=target)

    return AutodetectSeams(
        lookup=lookup, http=lambda: https.client(timeout=timeout), probe=probe, timeout=timeout
    )


async def _run(
    zone: Zone,
    documents: Mapping[tuple[str, str], tuple[int, str]],
    greeters: Greeters,
    email: str = EMAIL,
) -> tuple[Detection, LocalDns, LocalHttps]:
    hosts = ["autoconfig.example.test", "example.test"]
    with LocalDns(zone) as dns, LocalHttps(documents, hosts=hosts) as https:
        detection = await autodetect(email, seams=seams_for(dns, https, greeters))
        return detection, dns, https


def where(proposal: ServerProposal | None) -> tuple[str, int, Security]:
    """Host, port and security of a proposal that must exist."""
    assert proposal is not None
    return proposal.host, proposal.port, proposal.security


async def test_preset_by_domain_needs_no_network(greeters: Greeters) -> None:
    detection, dns, https = await _run({}, {}, greeters, email="Luis@Zoho.eu")
    assert detection.ok
    assert detection.smtp is not None
    assert detection.imap is not None
    assert where(detection.smtp) == ("smtp.zoho.eu", 587, Security.STARTTLS)
    assert detection.imap.host == "imap.zoho.eu"
    assert detection.smtp.source is Source.PRESET
    assert detection.smtp.confidence is Confidence.HIGH
    assert detection.smtp.provider == "zoho-eu"
    assert dns.queries == []
    assert https.requests == []


async def test_autoconfig_from_autoconfig_host(greeters: Greeters) -> None:
    docs = {("autoconfig.example.test", "/mail/config-v1.1.xml"): (200, AUTOCONFIG)}
    detection, _, https = await _run({}, docs, greeters)
    assert detection.smtp is not None
    assert detection.imap is not None
    assert where(detection.smtp) == ("smtp.example.test", 465, Security.SSL)
    assert detection.smtp.username == "ana"
    assert detection.smtp.source is Source.AUTOCONFIG
    assert detection.imap.source is Source.AUTOCONFIG
    assert ("autoconfig.example.test", "/mail/config-v1.1.xml?emailaddress=ana@example.test") in (
        https.requests
    )


async def test_autoconfig_well_known_fallback(greeters: Greeters) -> None:
    path = "/.well-known/autoconfig/mail/config-v1.1.xml"
    docs = {("example.test", path): (200, AUTOCONFIG)}
    detection, _, _ = await _run({}, docs, greeters)
    assert detection.smtp is not None
    assert detection.smtp.source is Source.AUTOCONFIG
    assert detection.smtp.detail == f"https://example.test{path}"
    report = {r.source: r for r in detection.lookups}[Source.AUTOCONFIG]
    assert report.found


async def test_srv_prefers_submissions_and_ignores_dot_target(greeters: Greeters) -> None:
    detection, _, _ = await _run(SRV_ZONE, {}, greeters)
    assert detection.smtp is not None
    assert detection.imap is not None
    assert where(detection.smtp) == ("submissions.example.test", 465, Security.SSL)
    assert detection.smtp.source is Source.SRV
    assert detection.smtp.detail == "SRV _submissions._tcp"
    assert (detection.imap.host, detection.imap.port) == ("imaps.example.test", 993)
    hosts = [p.host for p in detection.proposals]
    assert "submission.example.test" in hosts  # offered as an alternative
    assert "" not in hosts  # "." means "not offered" (RFC 2782)


async def test_mx_of_known_provider(greeters: Greeters) -> None:
    detection, _, _ = await _run(MX_ZONE, {}, greeters)
    assert detection.smtp is not None
    assert detection.smtp.source is Source.MX
    assert detection.smtp.confidence is Confidence.MEDIUM
    assert (detection.smtp.host, detection.smtp.port) == ("ssl0.ovh.net", 587)
    assert detection.smtp.provider == "ovh"
    assert "mx1.mail.ovh.net" in detection.smtp.detail


async def test_guess_probes_standard_ports_and_keeps_what_answers(greeters: Greeters) -> None:
    await greeters.add(465, protocol="smtp", tls=True, name="smtp.example.test")
    await greeters.add(587, protocol="smtp", tls=False, name="smtp.example.test")
    await greeters.add(993, protocol="imap", tls=True, name="wrong.example.test")
    zone: Zone = {
        "smtp.example.test": {"A": ["127.0.0.1"]},
        "imap.example.test": {"A": ["127.0.0.1"]},
    }
    detection, _, _ = await _run(zone, {}, greeters)
    assert detection.smtp is not None
    assert detection.imap is not None
    assert where(detection.smtp) == ("smtp.example.test", 465, Security.SSL)
    assert detection.smtp.source is Source.GUESS
    assert detection.smtp.confidence is Confidence.MEDIUM  # certificate verified for the name
    assert (detection.imap.host, detection.imap.port) == ("imap.example.test", 993)
    assert detection.imap.confidence is Confidence.LOW  # certificate names another host
    guessed = {(p.host, p.port) for p in detection.proposals}
    # mail.example.test does not resolve; 143 has nobody listening.
    assert guessed == {
        ("smtp.example.test", 465),
        ("smtp.example.test", 587),
        ("imap.example.test", 993),
    }


async def test_priority_across_sources(greeters: Greeters) -> None:
    await greeters.add(587, protocol="smtp", tls=False, name="smtp.example.test")
    everything: Zone = {**SRV_ZONE, **MX_ZONE, "smtp.example.test": {"A": ["127.0.0.1"]}}
    docs = {("autoconfig.example.test", "/mail/config-v1.1.xml"): (200, AUTOCONFIG)}
    detection, _, _ = await _run(everything, docs, greeters)
    assert detection.smtp is not None
    assert detection.smtp.source is Source.AUTOCONFIG
    sources = [p.source for p in detection.proposals if p.protocol == "smtp"]
    assert sources == sorted(sources, key=list(Source).index)
    assert Source.GUESS not in sources  # guessing only runs for what nothing else found

    detection, _, _ = await _run(everything, {}, greeters)
    assert detection.smtp is not None
    assert detection.smtp.source is Source.SRV

    # SRV offers only submission; IMAP then comes from the next source that has one (MX).
    smtp_only: Zone = {
        **MX_ZONE,
        "_submission._tcp.example.test": SRV_ZONE["_submission._tcp.example.test"],
    }
    detection, _, _ = await _run(smtp_only, {}, greeters)
    assert detection.smtp is not None
    assert detection.imap is not None
    assert (detection.smtp.source, detection.imap.source) == (Source.SRV, Source.MX)


async def test_nothing_found_is_not_ok_and_says_what_was_tried(greeters: Greeters) -> None:
    detection, _, _ = await _run({}, {}, greeters)
    assert not detection.ok
    assert detection.smtp is None
    data = detection.to_dict()
    assert data["ok"] is False
    assert {r["source"] for r in data["lookups"]} == {"preset", "autoconfig", "srv", "mx", "guess"}
    assert all(not r["found"] for r in data["lookups"])


async def test_every_lookup_is_bounded(greeters: Greeters) -> None:
    names = ["example.test", *(f"{s}.example.test" for s in SRV_ZONE)]
    names += [f"{p}.example.test" for p in ("smtp", "mail", "imap")]
    started = time.perf_counter()
    with LocalDns({}, stall=names) as dns, LocalHttps({}, hosts=["example.test"]) as https:
        seams = seams_for(dns, https, greeters, timeout=0.4)
        detection = await autodetect(EMAIL, seams=seams)
    # Two phases of the 0.4 s asked for, not of the 5 s default (10 s); margin for a loaded machine.
    assert time.perf_counter() - started < 8.0
    assert not detection.ok
    reports = {r.source: r for r in detection.lookups}
    assert reports[Source.MX].detail != "nothing found"


async def test_bad_address_is_a_validation_error(greeters: Greeters) -> None:
    with (
        LocalDns({}) as dns,
        LocalHttps({}, hosts=["x.test"]) as https,
        pytest.raises(ValidationError) as caught,
    ):
        await autodetect("not-an-address", seams=seams_for(dns, https, greeters))
    assert caught.value.params["field"] == "email"
