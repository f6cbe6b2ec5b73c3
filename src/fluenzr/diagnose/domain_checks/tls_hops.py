"""TLS on every network hop the test mail's ``Received:`` fields show."""

from __future__ import annotations

from fluenzr.diagnose.domain_checks.findings import Finding, Severity
from fluenzr.diagnose.domain_checks.received import Hop


def check_tls(path: list[Hop]) -> Finding | None:
    network = [h for h in path if h.network]
    if not network:
        return None
    plain = [h for h in network if not h.tls]
    if plain:
        shown = "; ".join(f"{h.from_host} → {h.by} ({h.protocol or '?'})" for h in plain[:3])
        return Finding.of("tls", Severity.WARNING, "tls_hop_plain", shown, count=len(plain))
    shown = "; ".join(f"{h.from_host} → {h.by} ({h.protocol})" for h in network[:3])
    return Finding.of("tls", Severity.OK, "tls_all_hops", shown, count=len(network))
