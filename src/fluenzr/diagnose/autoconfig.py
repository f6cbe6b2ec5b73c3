"""Mozilla autoconfig (``config-v1.1.xml``): fetch over HTTPS from the domain, parse safely.

Two well-known places, asked concurrently, the first one in this order that parses wins:
``https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=<email>`` and
``https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml``. Plain HTTP is never used
(anyone on the path could hand us a server of their choosing), nor are redirects followed.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from urllib.parse import quote

import httpx

from fluenzr.core.endpoints import Security, is_loopback
from fluenzr.diagnose.candidates import Confidence, ServerProposal, Source

MAX_BYTES = 64 * 1024
URLS = (
    "https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={email}",
    "https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress={email}",
)
_SOCKETS = {"SSL": Security.SSL, "STARTTLS": Security.STARTTLS, "plain": Security.NONE}


class AutoconfigError(Exception):
    """The document is missing, too large, unsafe or not a usable config (text says which)."""


def _placeholders(value: str, *, email: str) -> str:
    local, _, domain = email.partition("@")
    return (
        value.replace("%EMAILADDRESS%", email)
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain)
    )


def _server(node: ET.Element, *, protocol: str, email: str, url: str) -> ServerProposal | None:
    host = (node.findtext("hostname") or "").strip()
    port_text = (node.findtext("port") or "").strip()
    security = _SOCKETS.get((node.findtext("socketType") or "").strip())
    if not host or not port_text.isdigit() or security is None:
        return None
    host = _placeholders(host, email=email).lower()
    # Cleartext is only acceptable to this machine (e.g. a local bridge).
    if security is Security.NONE and not is_loopback(host):
        return None
    username = _placeholders((node.findtext("username") or "%EMAILADDRESS%").strip(), email=email)
    return ServerProposal(
        protocol=protocol,
        host=host,
        port=int(port_text),
        security=security,
        username=username or email,
        source=Source.AUTOCONFIG,
        confidence=Confidence.HIGH,
        detail=url.split("?", 1)[0],
    )


def parse(text: str, *, email: str, url: str = "") -> list[ServerProposal]:
    """Usable SMTP and IMAP servers of a config document, in the document's (preference) order."""
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise AutoconfigError("DOCTYPE/ENTITY not allowed")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD/entities (refused above), size bounded
    except ET.ParseError as exc:
        raise AutoconfigError(f"not XML: {exc}") from exc
    provider = root.find("emailProvider")
    if root.tag != "clientConfig" or provider is None:
        raise AutoconfigError("not a clientConfig document")
    found: list[ServerProposal] = []
    for tag, protocol in (("outgoingServer", "smtp"), ("incomingServer", "imap")):
        for node in provider.findall(tag):
            if node.get("type") == protocol:
                server = _server(node, protocol=protocol, email=email, url=url)
                if server is not None:
                    found.append(server)
    if not found:
        raise AutoconfigError("no SMTP/IMAP server with SSL or STARTTLS")
    return found


async def _fetch_one(client: httpx.AsyncClient, url: str, *, email: str) -> list[ServerProposal]:
    try:
        async with client.stream("GET", url, follow_redirects=False) as response:
            if response.status_code != 200:
                raise AutoconfigError(f"HTTP {response.status_code}")
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise AutoconfigError("document too large")
    except httpx.HTTPError as exc:
        raise AutoconfigError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
    return parse(body.decode("utf-8", errors="replace"), email=email, url=url)


async def fetch(client: httpx.AsyncClient, *, email: str, domain: str) -> list[ServerProposal]:
    """Servers from the first well-known URL that answers with a usable document."""
    urls = [u.format(domain=domain, email=quote(email, safe="@")) for u in URLS]
    results = await asyncio.gather(
        *(_fetch_one(client, url, email=email) for url in urls), return_exceptions=True
    )
    problems: list[str] = []
    for url, result in zip(urls, results, strict=True):
        if isinstance(result, list):
            return result
        if not isinstance(result, AutoconfigError):
            raise result
        problems.append(f"{url.split('?', 1)[0]}: {result}")
    raise AutoconfigError("; ".join(problems))
