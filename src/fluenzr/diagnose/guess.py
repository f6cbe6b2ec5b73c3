"""Guessing: ``smtp.``/``mail.``/``imap.`` hosts on the standard ports, probed in parallel.

Only what really answered is proposed. Among those, the order below decides: host prefix
first, then port. For submission, implicit TLS (465) comes before STARTTLS (587), as RFC 8314
§3.3 recommends; for IMAP, 993 before 143.
"""

from __future__ import annotations

import asyncio

from fluenzr.core.endpoints import Security
from fluenzr.diagnose.candidates import Confidence, ServerProposal, Source
from fluenzr.diagnose.greeting_probe import ProbeFunc, ProbeOutcome, ProbeTarget

SMTP_PREFIXES = ("smtp", "mail")
IMAP_PREFIXES = ("imap", "mail")
SMTP_PORTS = ((465, Security.SSL), (587, Security.STARTTLS))
IMAP_PORTS = ((993, Security.SSL), (143, Security.STARTTLS))


def targets(domain: str, *, protocols: tuple[str, ...] = ("smtp", "imap")) -> list[ProbeTarget]:
    plan = {"smtp": (SMTP_PREFIXES, SMTP_PORTS), "imap": (IMAP_PREFIXES, IMAP_PORTS)}
    out: list[ProbeTarget] = []
    for protocol in protocols:
        prefixes, ports = plan[protocol]
        for prefix in prefixes:
            for port, security in ports:
                out.append(ProbeTarget(protocol, f"{prefix}.{domain}", port, security))
    return out


def _proposal(outcome: ProbeOutcome, *, email: str) -> ServerProposal:
    target = outcome.target
    note = "certificate verified" if outcome.verified else outcome.detail or "answered"
    return ServerProposal(
        protocol=target.protocol,
        host=target.host,
        port=target.port,
        security=target.security,
        username=email,
        source=Source.GUESS,
        # A verified certificate for that very name is good evidence; a bare greeting less so.
        confidence=Confidence.MEDIUM if outcome.verified else Confidence.LOW,
        detail=f"{target.host}:{target.port} {note}",
    )


async def guess(
    probe: ProbeFunc, *, email: str, domain: str, protocols: tuple[str, ...] = ("smtp", "imap")
) -> list[ServerProposal]:
    """Proposals for every probed host/port that answered, in preference order."""
    plan = targets(domain, protocols=protocols)
    outcomes = await asyncio.gather(*(probe(target) for target in plan))
    return [_proposal(o, email=email) for o in outcomes if o.answered]
