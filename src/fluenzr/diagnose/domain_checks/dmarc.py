"""The DMARC check (RFC 7489): a ``_dmarc`` record, its policy, ``pct``, ``rua``.

The record is looked up at ``_dmarc.<domain>``, then at the organisational domain (§6.6.3).
Tags are ``name=value`` pairs split on ``;`` (§6.4); the record is capped before parsing.
"""

from __future__ import annotations

from dataclasses import dataclass

from fluenzr.diagnose.domain_checks.findings import Finding, Severity
from fluenzr.diagnose.domain_checks.orgdomain import organisational_domain
from fluenzr.diagnose.resolve import DnsLookup
from fluenzr.errors import MailError

MAX_RECORD_CHARS = 2048
MAX_TAGS = 40
POLICIES = ("none", "quarantine", "reject")


class DmarcSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class DmarcRecord:
    text: str
    tags: dict[str, str]

    @property
    def policy(self) -> str:
        return self.tags.get("p", "")

    @property
    def pct(self) -> int:
        value = self.tags.get("pct", "100")
        return int(value) if value.isdigit() and len(value) <= 3 else 100

    @property
    def strict_dkim(self) -> bool:
        return self.tags.get("adkim", "r") == "s"

    @property
    def strict_spf(self) -> bool:
        return self.tags.get("aspf", "r") == "s"


def is_dmarc(text: str) -> bool:
    head, _, _ = text[:20].partition(";")
    return head.replace(" ", "").lower() == "v=dmarc1"


def parse_dmarc(text: str) -> DmarcRecord:
    if len(text) > MAX_RECORD_CHARS:
        raise DmarcSyntaxError("record too long")
    parts = [p.strip() for p in text.split(";", MAX_TAGS + 1) if p.strip()]
    if len(parts) > MAX_TAGS:
        raise DmarcSyntaxError("too many tags")
    tags: dict[str, str] = {}
    for part in parts:
        name, eq, value = part.partition("=")
        if not eq:
            raise DmarcSyntaxError(f"'{part[:40]}' is not name=value")
        tags.setdefault(name.strip().lower(), value.strip())
    if not parts or parts[0].replace(" ", "") != "v=DMARC1":
        raise DmarcSyntaxError("v=DMARC1 must come first")
    policy = tags.get("p", "").lower()
    if policy not in POLICIES:
        raise DmarcSyntaxError("p= must be none, quarantine or reject")
    tags["p"] = policy
    pct = tags.get("pct", "100")
    if not (pct.isdigit() and 0 <= int(pct[:4]) <= 100):
        raise DmarcSyntaxError("pct= must be 0-100")
    for tag in ("adkim", "aspf"):
        if tags.get(tag, "r").lower() not in ("r", "s"):
            raise DmarcSyntaxError(f"{tag}= must be r or s")
        tags[tag] = tags.get(tag, "r").lower()
    return DmarcRecord(text, tags)


@dataclass(frozen=True)
class DmarcOutcome:
    findings: list[Finding]
    record: DmarcRecord | None = None


async def find_dmarc(lookup: DnsLookup, domain: str) -> tuple[list[str], str]:
    """The ``v=DMARC1`` records for ``domain`` and the name they were found at."""
    name = f"_dmarc.{domain}"
    found = [t for t in await lookup.txt(name) if is_dmarc(t)]
    org = organisational_domain(domain)
    if not found and org != domain.lower():
        name = f"_dmarc.{org}"
        found = [t for t in await lookup.txt(name) if is_dmarc(t)]
    return found, name


async def check_dmarc(lookup: DnsLookup, domain: str) -> DmarcOutcome:
    try:
        found, name = await find_dmarc(lookup, domain)
    except MailError as error:
        return DmarcOutcome([Finding.of("dmarc", Severity.ERROR, "dns_failed", error.detail or "")])
    if not found:
        return DmarcOutcome([Finding.of("dmarc", Severity.ERROR, "dmarc_missing", domain=domain)])
    if len(found) > 1:
        text = " | ".join(found)
        return DmarcOutcome(
            [Finding.of("dmarc", Severity.ERROR, "dmarc_multiple", text, name=name)]
        )
    try:
        record = parse_dmarc(found[0])
    except DmarcSyntaxError as error:
        finding = Finding.of("dmarc", Severity.ERROR, "dmarc_syntax", found[0], problem=error)
        return DmarcOutcome([finding])
    text = record.text
    findings: list[Finding] = []
    if record.policy == "none":
        findings.append(Finding.of("dmarc", Severity.WARNING, "dmarc_policy_none", text, name=name))
    if record.pct < 100:
        findings.append(Finding.of("dmarc", Severity.WARNING, "dmarc_pct", text, pct=record.pct))
    if not record.tags.get("rua"):
        findings.append(Finding.of("dmarc", Severity.WARNING, "dmarc_no_rua", text, name=name))
    if not findings:
        findings.append(Finding.of("dmarc", Severity.OK, "dmarc_ok", text, policy=record.policy))
    return DmarcOutcome(findings, record)
