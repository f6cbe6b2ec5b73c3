"""Which addresses a tenant-aimed connection may reach: the egress policy, as pure rules.

Every connection whose target a workspace member chooses (SMTP, IMAP, Probar's port probes,
autoconfig HTTP fetches, webhooks) is checked against these rules on the resolved address,
before connecting and again on the connected socket's peer (``fluenzr.mail.egress``).

- ``single_user`` (default): one person's install. Loopback and private networks stay reachable
  (ProtonMail Bridge on 127.0.0.1, a home server on the LAN).
- ``multi_tenant``: other people's workspaces share the machine, so nothing that reaches *into*
  the host or its network is allowed: loopback, private, link-local, CGNAT, unspecified,
  multicast and cloud-metadata addresses are refused.

Link-local and cloud-metadata addresses are refused for webhooks under every policy: an HTTP
request there can read instance credentials, and no mail server lives there.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Literal

Purpose = Literal["mail", "webhook", "http"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressPolicy(StrEnum):
    SINGLE_USER = "single_user"
    MULTI_TENANT = "multi_tenant"


_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "0.0.0.0/8")
)


def _plain(address: IPAddress) -> IPAddress:
    # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address it maps to.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_kind(address: IPAddress) -> str | None:
    """``metadata``, ``link_local``, ``loopback``, ``private``… or None for a public address."""
    address = _plain(address)
    if address in _METADATA:
        return "metadata"
    if address.is_link_local:
        return "link_local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address.is_loopback:
        return "loopback"
    if address in _CGNAT:
        return "cgnat"
    if any(address in network for network in _PRIVATE):
        return "private"
    return None


def refusal(address: str | IPAddress, *, policy: EgressPolicy, purpose: Purpose) -> str | None:
    """Why ``address`` may not be reached under ``policy`` (its kind), or None when it may."""
    try:
        parsed = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return "invalid"
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.scope_id:
        parsed = ipaddress.IPv6Address(str(parsed).split("%", 1)[0])
    kind = address_kind(parsed)
    if kind is None:
        return None
    if kind in ("metadata", "link_local") and purpose == "webhook":
        return kind
    if kind == "metadata":
        return kind  # no mail server or autoconfig file lives on an instance-metadata service
    if policy is EgressPolicy.MULTI_TENANT:
        return kind
    return None


__all__ = ["EgressPolicy", "Purpose", "address_kind", "refusal"]
