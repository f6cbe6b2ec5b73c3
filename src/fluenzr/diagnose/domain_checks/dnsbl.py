"""Optional DNS blocklists (off unless ``FLUENZR_DNSBL_ZONES`` names some).

A listed IP ``a.b.c.d`` has an A record at ``d.c.b.a.<zone>`` in 127.0.0.0/8. Spamhaus answers
127.255.255.x to queries it refuses (public or unregistered resolvers): that is not "clean", it
is "unknown", reported as a warning (docs/deliverability.md).
"""

from __future__ import annotations

import ipaddress

from fluenzr.diagnose.domain_checks.findings import Finding, Severity
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.errors import MailError

MAX_ZONES = 8


def _query_name(ip: str, zone: str) -> str:
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        return ".".join(reversed(ip.split("."))) + "." + zone
    nibbles = address.exploded.replace(":", "")
    return ".".join(reversed(nibbles)) + "." + zone


async def check_dnsbl(lookup: DnsLookup, ip: str | None, zones: list[str]) -> list[Finding]:
    if ip is None or not zones:
        return []
    findings: list[Finding] = []
    for zone in zones[:MAX_ZONES]:
        try:
            answers = await lookup.dns_addresses(_query_name(ip, zone))
        except MailError as error:
            findings.append(
                Finding.of(
                    "dnsbl",
                    Severity.WARNING,
                    "dnsbl_unknown",
                    zone,
                    zone=zone,
                    problem=error.detail or "",
                )
            )
            continue
        codes = [a for a in answers if a.startswith("127.")]
        if any(a.startswith("127.255.255.") for a in codes):
            findings.append(Finding.of("dnsbl", Severity.WARNING, "dnsbl_refused", zone, zone=zone))
        elif codes:
            findings.append(
                Finding.of(
                    "dnsbl",
                    Severity.ERROR,
                    "dnsbl_listed",
                    f"{zone}: {', '.join(codes[:4])}",
                    ip=ip,
                    zone=zone,
                )
            )
        else:
            findings.append(Finding.of("dnsbl", Severity.OK, "dnsbl_clean", zone, ip=ip, zone=zone))
    return findings
