"""The two entry points: :func:`check_domain` (DNS only: MX, SPF, DMARC) and
:func:`check_test_mail` (the evidence in Probar's test mail: DKIM, alignment, reverse DNS, TLS
per hop, Authentication-Results, RFC 8058, blocklists)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fluenzr.diagnose.domain_checks import headers as mail_headers
from fluenzr.diagnose.domain_checks.auth_results import check_authentication_results
from fluenzr.diagnose.domain_checks.dkim import DkimOutcome, check_dkim
from fluenzr.diagnose.domain_checks.dmarc import check_dmarc
from fluenzr.diagnose.domain_checks.dnsbl import check_dnsbl
from fluenzr.diagnose.domain_checks.findings import DomainReport, Finding, Severity
from fluenzr.diagnose.domain_checks.mx import check_mx
from fluenzr.diagnose.domain_checks.rdns import check_rdns
from fluenzr.diagnose.domain_checks.received import hops, sending_ip
from fluenzr.diagnose.domain_checks.spf import check_spf
from fluenzr.diagnose.domain_checks.tls_hops import check_tls
from fluenzr.diagnose.domain_checks.unsubscribe import check_unsubscribe
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.presets.catalogue import MailProvider, provider_by_key


def normalise_domain(text: str) -> str:
    """A domain name typed by a person (or an address): lower-case, IDNA; else ValidationError."""
    raw = text.strip().rstrip(".")
    if "@" in raw:
        raw = raw.rsplit("@", 1)[1]
    try:
        name = raw.encode("idna").decode("ascii").lower() if raw else ""
    except UnicodeError:
        name = ""
    labels = name.split(".")
    valid = (
        0 < len(name) <= 253
        and len(labels) >= 2
        and all(
            0 < len(label) <= 63
            and label.replace("-", "").replace("_", "").isalnum()
            and not label.startswith("-")
            for label in labels
        )
    )
    if not valid:
        raise ValidationError(
            ErrorCode.DOMAIN_INVALID, params={"field": "domain", "value": text[:100]}
        )
    return name


@dataclass
class DomainChecks:
    """Per-check findings of one domain, kept apart so Probar can show them as steps."""

    domain: str
    mx: Finding
    spf: list[Finding]
    dmarc: list[Finding]
    provider: MailProvider | None = None

    @property
    def findings(self) -> list[Finding]:
        return [self.mx, *self.spf, *self.dmarc]


async def domain_checks(
    lookup: DnsLookup,
    domain: str,
    *,
    provider_key: str | None = None,
    sending_ip: str | None = None,
) -> DomainChecks:
    mx = await check_mx(lookup, domain)
    provider = provider_by_key(provider_key)
    if provider is None or provider.spf_include is None:
        provider = mx.provider
    spf = await check_spf(
        lookup,
        domain,
        provider=provider.name if provider else None,
        include=provider.spf_include if provider else None,
        sending_ip=sending_ip,
    )
    dmarc = await check_dmarc(lookup, domain)
    return DomainChecks(domain, mx.finding, spf.findings, dmarc.findings, provider)


async def check_domain(
    lookup: DnsLookup, domain: str, *, now: datetime, provider_key: str | None = None
) -> DomainReport:
    """``fluenzr domains check``: MX, SPF, DMARC of one domain."""
    name = normalise_domain(domain)
    checks = await domain_checks(lookup, name, provider_key=provider_key)
    provider = checks.provider.name if checks.provider else None
    return DomainReport(name, now, checks.findings, provider=provider)


@dataclass
class MailEvidence:
    """What the test mail shows."""

    from_domain: str | None
    sending_ip: str | None
    dkim: DkimOutcome | None
    alignment: Finding | None
    rdns: Finding | None
    tls: Finding | None
    auth_results: Finding | None
    unsubscribe: Finding | None
    dnsbl: list[Finding] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        one = [self.dkim.finding if self.dkim else None, self.alignment, self.rdns, self.tls]
        one += [self.auth_results, self.unsubscribe]
        return [f for f in one if f is not None] + self.dnsbl


def read_evidence(raw: bytes) -> tuple[list[tuple[str, str]], str | None, str | None]:
    """(header fields, From domain, sending IP) of a test mail."""
    fields = mail_headers.header_fields(raw[: mail_headers.MAX_MESSAGE_BYTES])
    path = hops(mail_headers.values(fields, "received"))
    return fields, mail_headers.from_domain(fields), sending_ip(path)


def _alignment(dkim: DkimOutcome, spf: Sequence[Finding], domain: str) -> Finding:
    """DMARC passes when DKIM or SPF passes aligned with From. Probar's envelope sender is the
    From address, so SPF aligns whenever it authorises the sending IP."""
    spf_pass = bool(spf) and not any(
        f.code
        in (
            "spf_ip_not_authorised",
            "spf_missing",
            "spf_syntax",
            "spf_multiple",
            "spf_too_many_lookups",
            "dns_failed",
        )
        for f in spf
    )
    how = [name for name, ok in (("dkim", dkim.verified), ("spf", spf_pass)) if ok]
    if how:
        return Finding.of("alignment", Severity.OK, "aligned", "+".join(how), domain=domain)
    return Finding.of("alignment", Severity.ERROR, "unaligned", domain=domain)


async def check_test_mail(
    lookup: DnsLookup,
    raw: bytes,
    *,
    spf: Sequence[Finding] = (),
    provider_key: str | None = None,
    dnsbl_zones: Sequence[str] = (),
) -> MailEvidence:
    """The checks read from the test mail. ``spf`` are the domain's SPF findings evaluated
    with the sending IP (for DMARC alignment)."""
    fields, domain, ip = read_evidence(raw)
    path = hops(mail_headers.values(fields, "received"))
    dkim = None
    alignment = None
    if domain is not None:
        dkim = await check_dkim(
            lookup,
            raw,
            signatures=mail_headers.values(fields, "dkim-signature"),
            from_domain=domain,
            provider_key=provider_key,
        )
        alignment = _alignment(dkim, spf, domain)
    return MailEvidence(
        from_domain=domain,
        sending_ip=ip,
        dkim=dkim,
        alignment=alignment,
        rdns=await check_rdns(lookup, ip),
        tls=check_tls(path),
        auth_results=check_authentication_results(
            mail_headers.values(fields, "authentication-results")
        ),
        unsubscribe=check_unsubscribe(fields, dkim.signature if dkim else None),
        dnsbl=await check_dnsbl(lookup, ip, list(dnsbl_zones)),
    )
