"""``Received:`` trace fields (RFC 5321 §4.4): the sending IP and whether each hop used TLS.

A field reads ``from HELO (rdns [IP]) by HOST with PROTOCOL id … ; date``. TLS is recognised by
the RFC 3848 protocol types (``ESMTPS``, ``ESMTPSA``, ``UTF8SMTPS``…) or a comment naming the
TLS version (Postfix's ``(using TLSv1.3 …)``, Sendmail's ``version=TLSv1.3``). Local hand-offs
(``LMTP``, ``local``, no ``from``) are not network hops.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

MAX_HOPS = 30
TLS_PROTOCOLS = frozenset({"esmtps", "esmtpsa", "utf8smtps", "utf8smtpsa", "lmtps", "lmtpsa"})
SMTP_PROTOCOLS = frozenset({"smtp", "esmtp", "esmtpa", "utf8smtp", "utf8smtpa"}) | TLS_PROTOCOLS
LOCAL_PROTOCOLS = frozenset({"lmtp", "lmtps", "lmtpsa", "local", "http", "https"})


@dataclass(frozen=True)
class Hop:
    text: str
    from_host: str = ""
    ip: str | None = None
    by: str = ""
    protocol: str = ""
    tls: bool = False

    @property
    def network(self) -> bool:
        return bool(self.from_host) and self.protocol not in LOCAL_PROTOCOLS


def _word_after(words: list[str], key: str) -> str:
    for i, word in enumerate(words[:-1]):
        if word.lower() == key:
            return words[i + 1].strip("();").lower()
    return ""


def _bracketed_ip(text: str) -> str | None:
    start = text.find("[")
    while start >= 0:
        end = text.find("]", start, start + 60)
        if end < 0:
            return None
        candidate = text[start + 1 : end]
        if candidate.lower().startswith("ipv6:"):
            candidate = candidate[5:]
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            start = text.find("[", start + 1)
    return None


def parse_received(value: str) -> Hop:
    text = value[:4096]
    clauses, _, _ = text.rpartition(";")
    clauses = clauses or text
    words = clauses.split()
    from_host = _word_after(words, "from")
    by_index = next((i for i, w in enumerate(words) if w.lower() == "by"), len(words))
    from_part = " ".join(words[:by_index])
    protocol = _word_after(words, "with")
    upper = clauses.upper()
    tls = protocol in TLS_PROTOCOLS or "USING TLS" in upper or "VERSION=TLS" in upper
    return Hop(
        text=text,
        from_host=from_host,
        ip=_bracketed_ip(from_part) if from_host else None,
        by=_word_after(words, "by"),
        protocol=protocol,
        tls=tls,
    )


def hops(received: list[str]) -> list[Hop]:
    """Hops, most recent first (the order the fields appear in)."""
    return [parse_received(v) for v in received[:MAX_HOPS]]


def sending_ip(path: list[Hop]) -> str | None:
    """The address that handed the message to the provider's last network hop: the topmost
    network hop's client IP."""
    return next((h.ip for h in path if h.network and h.ip), None)
