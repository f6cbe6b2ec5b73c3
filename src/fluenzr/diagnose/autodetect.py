"""Autodetect: propose SMTP and IMAP settings for an address, each with a source and confidence.

Sources, in priority order (see :class:`~fluenzr.diagnose.candidates.Source`):

1. **preset** — our curated list, by the address domain (no network);
2. **autoconfig** — the domain's Mozilla ``config-v1.1.xml`` over HTTPS;
3. **srv** — the domain's SRV records: ``_submissions._tcp`` (RFC 8314, implicit TLS) before
   ``_submission._tcp`` (RFC 6186), ``_imaps._tcp`` before ``_imap._tcp``;
4. **mx** — the domain's MX host belongs to a provider we have a preset for;
5. **guess** — ``smtp.``/``mail.``/``imap.`` hosts that really answer on standard ports.

Sources 2–4 run concurrently, each bounded by ``timeout``; guessing runs only for what they
left open, bounded by the probe timeout. SMTP and IMAP are chosen independently: each takes
the best-ranked proposal that exists for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from email_validator import EmailNotValidError, validate_email

from fluenzr.config import Settings
from fluenzr.core.egress import EgressPolicy
from fluenzr.core.endpoints import Security
from fluenzr.diagnose import autoconfig, guess
from fluenzr.diagnose.candidates import (
    RANK,
    Confidence,
    LookupReport,
    ServerProposal,
    Source,
    best,
)
from fluenzr.diagnose.greeting_probe import GreetingProbe, ProbeFunc
from fluenzr.diagnose.resolve import DnsLookup, SrvRecord, lookup_for
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import MailError, ValidationError
from fluenzr.mail.egress_http import egress_client
from fluenzr.presets.catalogue import Preset, match_mx, match_preset

SRV_SERVICES = (
    ("_submissions._tcp", "smtp", Security.SSL),
    ("_submission._tcp", "smtp", Security.STARTTLS),
    ("_imaps._tcp", "imap", Security.SSL),
    ("_imap._tcp", "imap", Security.STARTTLS),
)


@dataclass
class AutodetectSeams:
    """Every way autodetect reaches the network; tests aim them at local servers."""

    lookup: DnsLookup
    http: Callable[[], httpx.AsyncClient]
    probe: ProbeFunc
    timeout: float = 4.0  # per source (DNS, HTTPS); probes have their own


def default_seams(settings: Settings) -> AutodetectSeams:
    lookup = lookup_for(settings, timeout=4.0)
    return AutodetectSeams(
        lookup=lookup,
        http=lambda: egress_client(
            policy=EgressPolicy(settings.egress_policy), purpose="http", timeout=4.0
        ),
        probe=GreetingProbe(
            lookup=lookup,
            timeout=settings.probe_timeout,
            egress=EgressPolicy(settings.egress_policy),
        ),
    )


@dataclass(frozen=True)
class Detection:
    email: str
    domain: str
    smtp: ServerProposal | None
    imap: ServerProposal | None
    proposals: list[ServerProposal] = field(default_factory=list)
    lookups: list[LookupReport] = field(default_factory=list)
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.smtp is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "email": self.email,
            "domain": self.domain,
            "smtp": self.smtp.to_dict() if self.smtp else None,
            "imap": self.imap.to_dict() if self.imap else None,
            "proposals": [{"protocol": p.protocol, **p.to_dict()} for p in self.proposals],
            "lookups": [lookup.to_dict() for lookup in self.lookups],
            "duration_ms": self.duration_ms,
        }


def _from_preset(
    preset: Preset, *, email: str, source: Source, confidence: Confidence, detail: str
) -> list[ServerProposal]:
    out: list[ServerProposal] = []
    for protocol in ("smtp", "imap"):
        host = getattr(preset, f"{protocol}_host")
        port = getattr(preset, f"{protocol}_port")
        security = getattr(preset, f"{protocol}_security")
        if host and port and security:
            out.append(
                ServerProposal(
                    protocol=protocol,
                    host=host,
                    port=port,
                    security=Security(security),
                    username=email,
                    source=source,
                    confidence=confidence,
                    detail=detail,
                    provider=preset.key,
                )
            )
    return out


def _srv_proposals(
    records: list[SrvRecord], *, service: str, protocol: str, security: Security, email: str
) -> list[ServerProposal]:
    # A single record with target "." says "not offered here" (RFC 2782); skip it.
    return [
        ServerProposal(
            protocol=protocol,
            host=record.target,
            port=record.port,
            security=security,
            username=email,
            source=Source.SRV,
            confidence=Confidence.HIGH,
            detail=f"SRV {service}",
        )
        for record in records
        if record.target and record.port
    ]


async def _srv(seams: AutodetectSeams, *, email: str, domain: str) -> list[ServerProposal]:
    answers = await asyncio.gather(
        *(seams.lookup.srv(f"{service}.{domain}") for service, _, _ in SRV_SERVICES),
        return_exceptions=True,
    )
    found: list[ServerProposal] = []
    for (service, protocol, security), answer in zip(SRV_SERVICES, answers, strict=True):
        if isinstance(answer, list):
            found += _srv_proposals(
                answer, service=service, protocol=protocol, security=security, email=email
            )
        elif not isinstance(answer, MailError):
            raise answer
    return found


async def _mx(seams: AutodetectSeams, *, email: str, domain: str) -> list[ServerProposal]:
    for host in await seams.lookup.mx(domain):
        preset = match_mx(host)
        if preset is not None and not preset.is_custom:
            detail = f"MX {host} → {preset.name}"
            return _from_preset(
                preset, email=email, source=Source.MX, confidence=Confidence.MEDIUM, detail=detail
            )
    return []


async def _autoconfig(seams: AutodetectSeams, *, email: str, domain: str) -> list[ServerProposal]:
    async with seams.http() as client:
        return await autoconfig.fetch(client, email=email, domain=domain)


async def _timed(
    source: Source, work: Awaitable[list[ServerProposal]], *, limit: float
) -> tuple[list[ServerProposal], LookupReport]:
    started = time.perf_counter()
    found: list[ServerProposal] = []
    detail = ""
    try:
        async with asyncio.timeout(limit):
            found = await work
    except TimeoutError:
        detail = "timeout"
    except MailError as exc:
        detail = exc.render("en")
    except autoconfig.AutoconfigError as exc:
        detail = str(exc)
    if found and not detail:
        detail = ", ".join(f"{p.protocol} {p.host}:{p.port}" for p in found)
    elapsed = int((time.perf_counter() - started) * 1000)
    return found, LookupReport(source, bool(found), elapsed, detail or "nothing found")


def _address(value: str) -> str:
    """A syntactically valid address. Reserved test domains are allowed: only the domain is used."""
    text = (value or "").strip()
    try:
        return validate_email(text, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError as exc:
        raise ValidationError(
            ErrorCode.EMAIL_INVALID, params={"field": "email", "value": text, "reason": str(exc)}
        ) from exc


def _missing(proposals: list[ServerProposal]) -> tuple[str, ...]:
    return tuple(p for p in ("smtp", "imap") if best(proposals, p) is None)


def _presets(*, email: str, domain: str) -> tuple[list[ServerProposal], list[LookupReport]]:
    preset = match_preset(domain)
    if preset is None or preset.is_custom:
        return [], [LookupReport(Source.PRESET, False, 0, "nothing found")]
    detail = f"{preset.name} ({domain})"
    found = _from_preset(
        preset, email=email, source=Source.PRESET, confidence=Confidence.HIGH, detail=detail
    )
    return found, [LookupReport(Source.PRESET, True, 0, detail)]


async def _published(
    seams: AutodetectSeams, *, email: str, domain: str
) -> tuple[list[ServerProposal], list[LookupReport]]:
    """What the domain publishes (autoconfig, SRV) or reveals (MX), looked up concurrently."""
    network = [
        (Source.AUTOCONFIG, _autoconfig(seams, email=email, domain=domain)),
        (Source.SRV, _srv(seams, email=email, domain=domain)),
        (Source.MX, _mx(seams, email=email, domain=domain)),
    ]
    results = await asyncio.gather(
        *(_timed(source, work, limit=seams.timeout) for source, work in network)
    )
    return [p for found, _ in results for p in found], [report for _, report in results]


async def autodetect(email: str, *, seams: AutodetectSeams) -> Detection:
    """Propose settings for ``email``; bad input raises ``ValidationError`` (field ``email``)."""
    started = time.perf_counter()
    address = _address(email)
    domain = address.rsplit("@", 1)[1].lower()
    proposals, reports = _presets(email=address, domain=domain)
    if _missing(proposals):
        found, more = await _published(seams, email=address, domain=domain)
        proposals, reports = proposals + found, reports + more
    missing = _missing(proposals)
    if missing:
        work = guess.guess(seams.probe, email=address, domain=domain, protocols=missing)
        # Probes run in parallel, each bounded by its own timeout; this bounds the batch.
        found, report = await _timed(Source.GUESS, work, limit=seams.timeout)
        proposals, reports = proposals + found, [*reports, report]
    proposals.sort(key=lambda p: (p.protocol != "smtp", RANK[p.source]))
    return Detection(
        email=address,
        domain=domain,
        smtp=best(proposals, "smtp"),
        imap=best(proposals, "imap"),
        proposals=proposals,
        lookups=reports,
        duration_ms=int((time.perf_counter() - started) * 1000),
    )
