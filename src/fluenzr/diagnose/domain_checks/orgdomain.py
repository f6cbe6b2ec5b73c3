"""The organisational domain (RFC 7489 §3.2) from the public suffix list (publicsuffixlist,
which ships a copy of the list: no network at run time)."""

from __future__ import annotations

import functools

from publicsuffixlist import PublicSuffixList


@functools.cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def organisational_domain(domain: str) -> str:
    """``mail.example.co.uk`` → ``example.co.uk``; a bare suffix is its own."""
    name = domain.strip().lower().rstrip(".")[:253]
    return _psl().privatesuffix(name) or name


def aligned(one: str, other: str, *, strict: bool = False) -> bool:
    """DMARC identifier alignment: same name (strict) or same organisational domain (relaxed)."""
    a, b = one.strip().lower().rstrip("."), other.strip().lower().rstrip(".")
    if strict:
        return a == b
    return organisational_domain(a) == organisational_domain(b)
