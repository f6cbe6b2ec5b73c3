"""The SPF check of a sending domain (RFC 7208): one record, valid, ≤ 10 lookups, the provider
authorised, a strict ``all``.

Lookup terms (``include``, ``a``, ``mx``, ``ptr``, ``exists``, ``redirect``) are counted
through every include and redirect, as a receiver evaluating the worst path would (§4.6.4).
The walk stops as soon as the count passes 10 and never fetches more than
:data:`MAX_FETCHES` records, so a hostile chain of includes costs a bounded number of queries.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field

from fluenzr.diagnose.domain_checks.findings import Finding, Severity
from fluenzr.diagnose.domain_checks.spf_record import (
    LOOKUP_TERMS,
    SpfRecord,
    SpfSyntaxError,
    is_spf,
    parse_spf,
)
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.errors import MailError

MAX_LOOKUPS = 10  # RFC 7208 §4.6.4
MAX_FETCHES = 14  # records fetched while walking includes (the 11th lookup ends the walk)
MAX_DEPTH = 10
MAX_HOSTS = 10  # a/mx names resolved when checking the sending IP
WALK_SECONDS = 20.0  # the whole include walk: slow or silent include servers cost this at most


@dataclass
class SpfWalk:
    """What following the includes found."""

    lookups: int = 0
    visited: list[str] = field(default_factory=list)  # domains whose record was read
    broken: list[str] = field(default_factory=list)  # include/redirect targets with no record
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # a/mx targets (pass qualifier)
    fetches: int = 0

    @property
    def over_limit(self) -> bool:
        return self.lookups > MAX_LOOKUPS


async def spf_records(lookup: DnsLookup, domain: str) -> list[str]:
    return [t for t in await lookup.txt(domain) if is_spf(t)]


async def _walk(
    lookup: DnsLookup, record: SpfRecord, domain: str, walk: SpfWalk, depth: int
) -> None:
    walk.visited.append(domain)
    for directive in record.directives:
        if directive.mechanism in LOOKUP_TERMS:
            walk.lookups += 1
        if walk.over_limit:
            return
        passes = directive.qualifier == "+"
        if directive.mechanism in ("ip4", "ip6") and passes:
            walk.networks.append(ipaddress.ip_network(directive.value, strict=False))
        elif directive.mechanism in ("a", "mx") and passes:
            walk.hosts.append(f"{directive.mechanism}:{directive.value or domain}")
        elif directive.mechanism == "include":
            await _follow(lookup, directive.value, walk, depth)
    if record.redirect and record.all_qualifier is None:
        walk.lookups += 1
        if not walk.over_limit:
            await _follow(lookup, record.redirect, walk, depth)


async def _follow(lookup: DnsLookup, target: str, walk: SpfWalk, depth: int) -> None:
    if "%" in target or target in walk.visited or depth >= MAX_DEPTH:
        return  # macros need the message; loops and deep chains are not followed
    if walk.fetches >= MAX_FETCHES:
        walk.lookups = MAX_LOOKUPS + 1
        return
    walk.fetches += 1
    try:
        found = await spf_records(lookup, target)
        record = parse_spf(found[0]) if len(found) == 1 else None
    except (MailError, SpfSyntaxError):
        record = None
    if record is None:
        walk.broken.append(target)
        return
    await _walk(lookup, record, target, walk, depth + 1)


async def ip_authorised(lookup: DnsLookup, walk: SpfWalk, ip: str) -> bool:
    """Whether ``ip`` appears in a pass mechanism of the tree (ip4/ip6, a, mx)."""
    address = ipaddress.ip_address(ip)
    if any(address in net for net in walk.networks if net.version == address.version):
        return True
    for entry in walk.hosts[:MAX_HOSTS]:
        kind, _, name = entry.partition(":")
        try:
            names = await lookup.mx(name) if kind == "mx" else [name]
            for host in names[:MAX_HOSTS]:
                if ip in await lookup.dns_addresses(host):
                    return True
        except MailError:
            continue
    return False


@dataclass(frozen=True)
class SpfOutcome:
    findings: list[Finding]
    walk: SpfWalk | None = None
    record: str = ""


def _all_finding(record: SpfRecord) -> Finding | None:
    qualifier = record.all_qualifier
    if qualifier in ("-", "~"):
        return None
    if qualifier == "?":
        return Finding.of("spf", Severity.WARNING, "spf_neutral_all", record.text)
    if qualifier == "+":
        return Finding.of("spf", Severity.WARNING, "spf_pass_all", record.text)
    if record.redirect:
        return None  # the redirected record decides
    return Finding.of("spf", Severity.WARNING, "spf_no_all", record.text)


async def check_spf(
    lookup: DnsLookup,
    domain: str,
    *,
    provider: str | None = None,
    include: str | None = None,
    sending_ip: str | None = None,
    budget: float = WALK_SECONDS,
) -> SpfOutcome:
    """Every SPF finding for ``domain`` (one ``spf_ok`` when nothing is wrong)."""
    try:
        found = await spf_records(lookup, domain)
    except MailError as error:
        return SpfOutcome([Finding.of("spf", Severity.ERROR, "dns_failed", error.detail or "")])
    if not found:
        return SpfOutcome([Finding.of("spf", Severity.ERROR, "spf_missing", domain=domain)])
    if len(found) > 1:
        text = " | ".join(found)
        return SpfOutcome(
            [Finding.of("spf", Severity.ERROR, "spf_multiple", text, count=len(found))]
        )
    text = found[0]
    try:
        record = parse_spf(text)
    except SpfSyntaxError as error:
        return SpfOutcome([Finding.of("spf", Severity.ERROR, "spf_syntax", text, problem=error)])
    walk = SpfWalk()
    try:
        async with asyncio.timeout(budget):
            await _walk(lookup, record, domain.lower(), walk, 0)
    except TimeoutError:
        finding = Finding.of("spf", Severity.ERROR, "dns_failed", text, seconds=budget)
        return SpfOutcome([finding], walk, text)
    findings: list[Finding] = []
    if walk.over_limit:
        findings.append(
            Finding.of("spf", Severity.ERROR, "spf_too_many_lookups", text, limit=MAX_LOOKUPS)
        )
    for target in walk.broken[:3]:
        findings.append(
            Finding.of("spf", Severity.ERROR, "spf_include_broken", text, target=target)
        )
    if include and not walk.over_limit and include.lower() not in walk.visited:
        if not (sending_ip and await ip_authorised(lookup, walk, sending_ip)):
            findings.append(
                Finding.of(
                    "spf",
                    Severity.ERROR,
                    "spf_provider_missing",
                    text,
                    provider=provider or "",
                    include=include,
                )
            )
    elif sending_ip and not walk.over_limit and not await ip_authorised(lookup, walk, sending_ip):
        findings.append(
            Finding.of("spf", Severity.ERROR, "spf_ip_not_authorised", text, ip=sending_ip)
        )
    all_finding = _all_finding(record)
    if all_finding is not None:
        findings.append(all_finding)
    if not findings:
        findings.append(Finding.of("spf", Severity.OK, "spf_ok", text, lookups=walk.lookups))
    return SpfOutcome(findings, walk, text)
