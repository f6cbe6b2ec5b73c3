"""Reverse DNS of the sending IP, forward-confirmed (FCrDNS): a PTR name whose A/AAAA records
include the IP again."""

from __future__ import annotations

from fluenzr.diagnose.domain_checks.findings import Finding, Severity
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.errors import MailError

MAX_NAMES = 4


async def check_rdns(lookup: DnsLookup, ip: str | None) -> Finding | None:
    if ip is None:
        return None
    try:
        names = await lookup.ptr(ip)
    except MailError as error:
        return Finding.of("rdns", Severity.ERROR, "dns_failed", error.detail or "")
    if not names:
        return Finding.of("rdns", Severity.ERROR, "rdns_missing", ip, ip=ip)
    for name in names[:MAX_NAMES]:
        try:
            if ip in await lookup.dns_addresses(name):
                return Finding.of(
                    "rdns", Severity.OK, "rdns_ok", f"{ip} → {name}", ip=ip, name=name
                )
        except MailError:
            continue
    shown = ", ".join(names[:MAX_NAMES])
    return Finding.of("rdns", Severity.ERROR, "rdns_mismatch", f"{ip} → {shown}", ip=ip, name=shown)
