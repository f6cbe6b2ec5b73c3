"""Parse one SPF record (RFC 7208 §4.5, §5, §6, §12 grammar), bounded and linear.

A record is split on spaces into terms; each term is a directive (``[qualifier]mechanism``) or
a modifier (``name=value``). Only the syntax is read here; :mod:`.spf` follows includes.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

MAX_RECORD_CHARS = 4096
MAX_TERMS = 100
QUALIFIERS = "+-~?"
MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
# Terms that cost a DNS lookup (RFC 7208 §4.6.4): at most 10 per evaluation, includes counted.
LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists"})


class SpfSyntaxError(ValueError):
    """The record breaks RFC 7208's grammar (a permerror for every receiver)."""


@dataclass(frozen=True)
class Directive:
    qualifier: str  # one of +-~?
    mechanism: str
    value: str = ""  # domain-spec, or ip4/ip6 network; "" when absent
    cidr: str = ""  # "/24", "//64"… for a and mx


@dataclass
class SpfRecord:
    text: str
    directives: list[Directive] = field(default_factory=list)
    redirect: str | None = None
    modifiers: dict[str, str] = field(default_factory=dict)

    @property
    def all_qualifier(self) -> str | None:
        return next((d.qualifier for d in self.directives if d.mechanism == "all"), None)

    @property
    def local_lookups(self) -> int:
        """Lookup terms in this record alone (redirect counts too)."""
        count = sum(1 for d in self.directives if d.mechanism in LOOKUP_TERMS)
        return count + (1 if self.redirect else 0)


def is_spf(text: str) -> bool:
    """``v=spf1`` followed by a space or the end (RFC 7208 §4.5), case-insensitive."""
    head = text[:7].lower()
    return head == "v=spf1" if len(text) == 6 else head == "v=spf1 "


def _domain_spec(value: str, term: str) -> str:
    if not value or len(value) > 253 or any(c.isspace() for c in value):
        raise SpfSyntaxError(f"{term}: a domain is required")
    if "%" not in value and ".." in value.strip("."):
        raise SpfSyntaxError(f"{term}: bad domain")
    return value.lower()


def _network(mechanism: str, value: str, term: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise SpfSyntaxError(f"{term}: not an {mechanism} network") from None
    if (mechanism == "ip4") != (network.version == 4):
        raise SpfSyntaxError(f"{term}: not an {mechanism} network")
    return str(network)


def _cidr(text: str, term: str) -> tuple[str, str]:
    """Split ``domain/24//64`` into (domain, "/24//64"), checking the lengths."""
    domain, sep, rest = text.partition("/")
    if not sep:
        return domain, ""
    cidr = "/" + rest
    four, _, six = cidr[1:].partition("//") if not cidr.startswith("//") else ("", "", cidr[2:])
    for digits, limit in ((four, 32), (six, 128)):
        if digits and (not digits.isdigit() or int(digits) > limit):
            raise SpfSyntaxError(f"{term}: bad prefix length")
    return domain, cidr


def _directive(term: str) -> Directive:
    qualifier = "+"
    body = term
    if body[0] in QUALIFIERS:
        qualifier, body = body[0], body[1:]
    name, sep, value = body.partition(":")
    if not sep and "/" in name:
        name, _, rest = name.partition("/")
        value, sep = "/" + rest, "/"
    name = name.lower()
    if name not in MECHANISMS:
        raise SpfSyntaxError(f"{term}: unknown mechanism")
    if name == "all":
        if sep:
            raise SpfSyntaxError(f"{term}: 'all' takes no argument")
        return Directive(qualifier, name)
    if name in ("ip4", "ip6"):
        return Directive(qualifier, name, _network(name, value, term))
    if name in ("include", "exists"):
        return Directive(qualifier, name, _domain_spec(value, term))
    if name in ("a", "mx"):
        domain, cidr = _cidr(value, term) if value else ("", "")
        return Directive(qualifier, name, _domain_spec(domain, term) if domain else "", cidr)
    return Directive(qualifier, name, _domain_spec(value, term) if value else "")  # ptr


def parse_spf(text: str) -> SpfRecord:
    """Parse a ``v=spf1`` record; :class:`SpfSyntaxError` names the first bad term."""
    if len(text) > MAX_RECORD_CHARS:
        raise SpfSyntaxError("record too long")
    if not is_spf(text):
        raise SpfSyntaxError("not a v=spf1 record")
    terms = text.split()[1:]
    if len(terms) > MAX_TERMS:
        raise SpfSyntaxError("too many terms")
    record = SpfRecord(text=text)
    for term in terms:
        name, eq, value = term.partition("=")
        if eq and ":" not in name and "/" not in name:  # a modifier (RFC 7208 §6)
            key = name.lower()
            if not key or not (
                key[0].isalpha()
                and key.replace("-", "").replace("_", "").replace(".", "").isalnum()
            ):
                raise SpfSyntaxError(f"{term}: bad modifier")
            if key in record.modifiers:
                raise SpfSyntaxError(f"{term}: '{key}' appears twice")
            record.modifiers[key] = value
            if key == "redirect":
                record.redirect = _domain_spec(value, term)
            continue
        record.directives.append(_directive(term))
    return record
