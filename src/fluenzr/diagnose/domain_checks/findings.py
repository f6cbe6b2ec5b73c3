"""A finding: one check's verdict (ok / warning / error), the record found and how to fix it.

Text lives in the ``deliverability`` catalogue: ``deliv.<code>`` says what was found,
``deliv.<code>.fix`` what to do (only for warnings and errors). ``params`` fill both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from fluenzr.i18n import has_message, translate

MAX_RECORD_CHARS = 1000  # evidence shown is cut here (records come from hostile DNS)


class Severity(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.OK: 2}
_PENALTY = {Severity.ERROR: 25, Severity.WARNING: 8, Severity.OK: 0}


@dataclass(frozen=True)
class Finding:
    check: str  # mx, spf, dmarc, dkim, rdns, tls, auth_results, unsubscribe, dnsbl
    severity: Severity
    code: str  # deliv.<code> in the catalogue
    record: str = ""
    params: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def of(
        check: str, severity: Severity, code: str, record: str = "", **params: object
    ) -> Finding:
        clean = {k: str(v)[:300] for k, v in params.items()}
        return Finding(check, severity, code, _printable(record)[:MAX_RECORD_CHARS], clean)

    def message(self, lang: str | None = None) -> str:
        return translate(f"deliv.{self.code}", lang, **self.params)

    def fix(self, lang: str | None = None) -> str | None:
        key = f"deliv.{self.code}.fix"
        variant = self.params.get("variant")
        if variant and has_message(f"{key}.{variant}", "en"):
            key = f"{key}.{variant}"
        if self.severity is Severity.OK or not has_message(key, "en"):
            return None
        return translate(key, lang, **self.params)

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "code": self.code,
            "record": self.record,
            "params": dict(self.params),
            "message": self.message(lang),
            "fix": self.fix(lang),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Finding:
        params = data.get("params") or {}
        return Finding(
            check=str(data.get("check", "")),
            severity=Severity(str(data.get("severity", "ok"))),
            code=str(data.get("code", "")),
            record=str(data.get("record", "")),
            params={str(k): str(v) for k, v in dict(params).items()},
        )


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


def most_serious_first(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: _RANK[f.severity])


def score(findings: Iterable[Finding]) -> int:
    """100 minus 25 per error and 8 per warning, never below 0."""
    return max(0, 100 - sum(_PENALTY[f.severity] for f in findings))


def worst(findings: Iterable[Finding]) -> Severity:
    ranked = most_serious_first(findings)
    return ranked[0].severity if ranked else Severity.OK


@dataclass(frozen=True)
class DomainReport:
    """The checks of one domain (and, after Probar, of one test mail)."""

    domain: str
    checked_at: datetime
    findings: list[Finding]
    provider: str | None = None

    @property
    def score(self) -> int:
        return score(self.findings)

    def fingerprint(self) -> str:
        """What a re-check compares: the verdicts and records, not the time."""
        parts = sorted(f"{f.check}|{f.severity}|{f.code}|{f.record}" for f in self.findings)
        return "\n".join(parts)

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "checked_at": self.checked_at.isoformat(),
            "provider": self.provider,
            "score": self.score,
            "findings": [f.to_dict(lang) for f in most_serious_first(self.findings)],
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> DomainReport:
        return DomainReport(
            domain=str(data["domain"]),
            checked_at=datetime.fromisoformat(str(data["checked_at"])),
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
            provider=data.get("provider"),
        )
