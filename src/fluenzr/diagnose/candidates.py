"""What autodetect proposes: server settings with a source and a confidence, and their ranking."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fluenzr.core.endpoints import Security


class Source(StrEnum):
    """Where a proposal came from, strongest first (the order is the priority, see RANK)."""

    PRESET = "preset"  # our curated provider list, matched by the address domain
    AUTOCONFIG = "autoconfig"  # Mozilla autoconfig XML published by the domain over HTTPS
    SRV = "srv"  # DNS SRV records published by the domain (RFC 6186 / RFC 8314)
    MX = "mx"  # the domain's MX points at a provider we know (custom domain at OVH, Gandi…)
    GUESS = "guess"  # smtp./mail./imap. host answered on a standard port


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


RANK: dict[Source, int] = {source: index for index, source in enumerate(Source)}


@dataclass(frozen=True)
class ServerProposal:
    protocol: str  # "smtp" | "imap"
    host: str
    port: int
    security: Security
    username: str
    source: Source
    confidence: Confidence
    detail: str = ""  # e.g. "MX mx1.mail.ovh.net → OVH Mail", "SRV _submissions._tcp"
    provider: str | None = None  # preset key when known

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security.value,
            "username": self.username,
            "source": self.source.value,
            "confidence": self.confidence.value,
            "detail": self.detail,
            "provider": self.provider,
        }


@dataclass(frozen=True)
class LookupReport:
    """One source's run: whether it found something, how long it took, what went wrong."""

    source: Source
    found: bool
    duration_ms: int
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "found": self.found,
            "duration_ms": self.duration_ms,
            "detail": self.detail,
        }


def best(proposals: list[ServerProposal], protocol: str) -> ServerProposal | None:
    """The highest-ranked proposal for ``protocol``; within a source, the first given wins."""
    mine = [p for p in proposals if p.protocol == protocol]
    if not mine:
        return None
    return min(enumerate(mine), key=lambda item: (RANK[item[1].source], item[0]))[1]
