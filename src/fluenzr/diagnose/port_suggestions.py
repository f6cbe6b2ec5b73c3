"""Helpful probing: when the configured port is refused, silent or in the wrong TLS mode, try the
other standard ports/modes concurrently and suggest one that really answered.

"Really answered" means the protocol's greeting came back in that mode (after the TLS handshake
for implicit TLS); nothing is suggested on a guess. Candidates, in order of preference: the same
port in the other TLS mode (only for a mode mismatch), then for SMTP submission 587 STARTTLS,
465 SSL, 25 STARTTLS; for IMAP 993 SSL, 143 STARTTLS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fluenzr.core.endpoints import Security
from fluenzr.diagnose.greeting_probe import ProbeFunc, ProbeTarget
from fluenzr.error_codes import ErrorCode
from fluenzr.i18n import translate

STANDARD_SUBMISSION: tuple[tuple[int, Security], ...] = (
    (587, Security.STARTTLS),
    (465, Security.SSL),
    (25, Security.STARTTLS),
)
STANDARD_IMAP: tuple[tuple[int, Security], ...] = ((993, Security.SSL), (143, Security.STARTTLS))
# Failures where another port or mode may well work; auth or policy failures are not among them.
TRIGGERS = frozenset({ErrorCode.CONNECTION_REFUSED, ErrorCode.TLS_MODE_MISMATCH, ErrorCode.TIMEOUT})
_OTHER_MODE = {Security.STARTTLS: Security.SSL, Security.SSL: Security.STARTTLS}


@dataclass(frozen=True)
class PortSuggestion:
    port: int
    security: Security
    duration_ms: int
    given_port: int
    given_security: Security

    def hint(self, lang: str | None = None) -> str:
        params = {
            "port": self.port,
            "security": self.security.label,
            "given_port": self.given_port,
            "given_security": self.given_security.label,
            "ms": self.duration_ms,
        }
        key = "probar.suggest_mode" if self.port == self.given_port else "probar.suggest_port"
        return translate(key, lang, **params)

    def to_dict(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "security": self.security.value,
            "duration_ms": self.duration_ms,
        }


def candidates(
    *,
    port: int,
    security: Security,
    code: ErrorCode,
    standard: Sequence[tuple[int, Security]] = STANDARD_SUBMISSION,
) -> list[tuple[int, Security]]:
    """What to try instead of ``port``/``security`` after a failure with ``code``."""
    out: list[tuple[int, Security]] = []
    if code is ErrorCode.TLS_MODE_MISMATCH and security in _OTHER_MODE:
        out.append((port, _OTHER_MODE[security]))
    out += [(p, s) for p, s in standard if (p, s) != (port, security) and (p, s) not in out]
    return out


async def suggest_port(
    probe: ProbeFunc,
    *,
    host: str,
    port: int,
    security: Security,
    code: ErrorCode,
    standard: Sequence[tuple[int, Security]] = STANDARD_SUBMISSION,
    protocol: str = "smtp",
) -> PortSuggestion | None:
    """Probe the alternatives concurrently; the most preferred one that answered, if any."""
    if code not in TRIGGERS:
        return None
    plan = candidates(port=port, security=security, code=code, standard=standard)
    targets = [ProbeTarget(protocol, host, p, s) for p, s in plan]
    outcomes = await asyncio.gather(*(probe(target) for target in targets))
    for outcome in outcomes:
        if outcome.answered:
            target = outcome.target
            return PortSuggestion(target.port, target.security, outcome.duration_ms, port, security)
    return None
