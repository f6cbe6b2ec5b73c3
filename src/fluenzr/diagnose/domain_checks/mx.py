"""MX present, and the provider recognised from it (drives the expected SPF include)."""

from __future__ import annotations

from dataclasses import dataclass

from fluenzr.diagnose.domain_checks.findings import Finding, Severity
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.errors import MailError
from fluenzr.presets.catalogue import MailProvider, provider_for_mx

MAX_MX_SHOWN = 5


@dataclass(frozen=True)
class MxOutcome:
    finding: Finding
    hosts: list[str]
    provider: MailProvider | None


async def check_mx(lookup: DnsLookup, domain: str) -> MxOutcome:
    try:
        hosts = await lookup.mx(domain)
    except MailError as error:
        return MxOutcome(
            Finding.of("mx", Severity.ERROR, "dns_failed", error.detail or ""), [], None
        )
    if not hosts:
        return MxOutcome(Finding.of("mx", Severity.ERROR, "mx_missing", domain=domain), [], None)
    provider = next((p for p in map(provider_for_mx, hosts) if p is not None), None)
    record = ", ".join(hosts[:MAX_MX_SHOWN])
    if provider is None:
        return MxOutcome(Finding.of("mx", Severity.OK, "mx_ok", record), hosts, None)
    finding = Finding.of("mx", Severity.OK, "mx_provider", record, provider=provider.name)
    return MxOutcome(finding, hosts, provider)
