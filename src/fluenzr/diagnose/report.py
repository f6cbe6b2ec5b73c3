"""The Probar report: what the CLI prints, the API returns and the account stores (no secrets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fluenzr.diagnose.domain_checks.findings import DomainReport
from fluenzr.diagnose.port_suggestions import PortSuggestion
from fluenzr.diagnose.runner import Status, StepResult
from fluenzr.errors import MailError


@dataclass(frozen=True)
class ProbarReport:
    account_id: int
    email: str
    tested_at: datetime
    steps: list[StepResult]
    error: MailError | None = None
    suggestion: PortSuggestion | None = None
    duration_ms: int = 0
    sent: bool = False  # a test email was actually sent
    message_id: str | None = None
    warnings: list[StepResult] = field(default_factory=list)
    deliverability: DomainReport | None = None  # domain + test-mail findings

    @property
    def ok(self) -> bool:
        return self.error is None

    def error_dict(self, lang: str | None = None) -> dict[str, Any] | None:
        if self.error is None:
            return None
        out = self.error.to_dict(lang)
        out["params"] = dict(self.error.params)
        if "fingerprint" in self.error.params:
            out["fingerprint"] = self.error.params["fingerprint"]
        if self.suggestion is not None:
            # Same port, other mode: the hint already names the mode; the data says it answered.
            if self.suggestion.port != self.suggestion.given_port:
                out["hint"] = f"{out['hint']} {self.suggestion.hint(lang)}".strip()
            out["suggestion"] = self.suggestion.to_dict()
        failed = next((s for s in self.steps if s.status is Status.FAILED), None)
        if failed is not None:
            out["step"] = failed.name
        return out

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "account_id": self.account_id,
            "email": self.email,
            "tested_at": self.tested_at.isoformat(),
            "duration_ms": self.duration_ms,
            "sent": self.sent,
            "message_id": self.message_id,
            "steps": [step.to_dict() for step in self.steps],
        }
        if self.warnings:
            out["warnings"] = [
                {"code": w.code, "step": w.name, "message": w.message, "hint": w.hint}
                for w in self.warnings
            ]
        if self.deliverability is not None:
            out["deliverability"] = self.deliverability.to_dict(lang)
        error = self.error_dict(lang)
        if error is not None:
            out["error"] = error
        return out

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        """The JSON form, under the name API models use (the web job runner stores it)."""
        return self.to_dict()
