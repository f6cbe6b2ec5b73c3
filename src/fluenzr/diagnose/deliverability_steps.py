"""Probar's deliverability steps: the domain's MX, SPF and DMARC, then what the test mail read
back over IMAP shows (DKIM, DMARC alignment, reverse DNS, TLS per hop, Authentication-Results,
RFC 8058, blocklists). They never stop Probar: a finding is a step marked warning (with its
severity ``warning`` or ``error``), its record as the detail and its fix as the hint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fluenzr.diagnose.domain_checks.check import (
    DomainChecks,
    MailEvidence,
    check_test_mail,
    domain_checks,
    read_evidence,
)
from fluenzr.diagnose.domain_checks.findings import (
    DomainReport,
    Finding,
    Severity,
    most_serious_first,
)
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.diagnose.runner import Done, Notice, Skip
from fluenzr.i18n import translate


@dataclass
class DeliverabilityRun:
    lookup: DnsLookup
    domain: str
    raw_mail: Callable[[], bytes | None]  # the test mail, once the IMAP half has read it
    provider_key: str | None = None
    dnsbl_zones: Sequence[str] = ()
    checks: DomainChecks | None = None
    evidence: MailEvidence | None = None
    findings: list[Finding] = field(default_factory=list)

    def report(self, now: datetime) -> DomainReport | None:
        if self.checks is None:
            return None
        provider = self.checks.provider.name if self.checks.provider else None
        return DomainReport(self.domain, now, list(self.findings), provider=provider)


def as_done(findings: list[Finding]) -> Done:
    """A step's outcome from its findings: the most serious decides the status."""
    ranked = most_serious_first(findings)
    worst = ranked[0]
    detail = " | ".join(dict.fromkeys(f.record for f in ranked if f.record))[:1000]
    if worst.severity is Severity.OK:
        return Done(detail or worst.message(), severity="ok")
    bad = [f for f in ranked if f.severity is not Severity.OK]
    notice = Notice(
        code=worst.code,
        category="deliverability",
        text=" · ".join(f.message() for f in bad),
        fix=" · ".join(fix for f in bad if (fix := f.fix())) or None,
        detail=detail,
        severity=worst.severity.value,
    )
    return Done(detail, warning=notice)


async def _domain(run: DeliverabilityRun) -> DomainChecks:
    if run.checks is None:
        raw = run.raw_mail()
        ip = read_evidence(raw)[2] if raw else None
        run.checks = await domain_checks(
            run.lookup, run.domain, provider_key=run.provider_key, sending_ip=ip
        )
        run.findings += run.checks.findings
    return run.checks


async def _mail(run: DeliverabilityRun) -> MailEvidence:
    if run.evidence is None:
        raw = run.raw_mail()
        if raw is None:
            raise Skip(translate("probar.no_test_mail"))
        checks = await _domain(run)
        run.evidence = await check_test_mail(
            run.lookup,
            raw,
            spf=checks.spf,
            provider_key=run.provider_key,
            dnsbl_zones=run.dnsbl_zones,
        )
        run.findings += run.evidence.findings
    return run.evidence


def _one(finding: Finding | None) -> Done:
    if finding is None:
        raise Skip(translate("probar.not_applicable"))
    return as_done([finding])


async def step_mx(run: DeliverabilityRun) -> Done:
    return as_done([(await _domain(run)).mx])


async def step_spf(run: DeliverabilityRun) -> Done:
    return as_done((await _domain(run)).spf)


async def step_dmarc(run: DeliverabilityRun) -> Done:
    return as_done((await _domain(run)).dmarc)


async def step_dkim(run: DeliverabilityRun) -> Done:
    evidence = await _mail(run)
    return _one(evidence.dkim.finding if evidence.dkim else None)


async def step_alignment(run: DeliverabilityRun) -> Done:
    return _one((await _mail(run)).alignment)


async def step_rdns(run: DeliverabilityRun) -> Done:
    return _one((await _mail(run)).rdns)


async def step_tls(run: DeliverabilityRun) -> Done:
    return _one((await _mail(run)).tls)


async def step_auth_results(run: DeliverabilityRun) -> Done:
    return _one((await _mail(run)).auth_results)


async def step_unsubscribe(run: DeliverabilityRun) -> Done:
    return _one((await _mail(run)).unsubscribe)


async def step_dnsbl(run: DeliverabilityRun) -> Done:
    if not run.dnsbl_zones:
        raise Skip(translate("probar.dnsbl_off"))
    found = (await _mail(run)).dnsbl
    if not found:
        raise Skip(translate("probar.not_applicable"))
    return as_done(found)


StepFunc = Callable[[DeliverabilityRun], Awaitable[Done]]
STEPS: tuple[tuple[str, StepFunc], ...] = (
    ("deliv_mx", step_mx),
    ("deliv_spf", step_spf),
    ("deliv_dmarc", step_dmarc),
    ("deliv_dkim", step_dkim),
    ("deliv_alignment", step_alignment),
    ("deliv_rdns", step_rdns),
    ("deliv_tls", step_tls),
    ("deliv_auth_results", step_auth_results),
    ("deliv_unsubscribe", step_unsubscribe),
    ("deliv_dnsbl", step_dnsbl),
)
