"""``DKIM-Signature`` and DKIM key records (RFC 6376 §3.5, §3.6.1): ``tag=value`` lists.

Split on ``;`` then the first ``=``; whitespace inside values is removed (folded ``b=``/``h=``).
Capped before parsing; a repeated tag makes the list invalid (§3.2).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

MAX_TAG_LIST_CHARS = 8192
MAX_TAGS = 30
MAX_KEY_CHARS = 4096  # base64 of an 8192-bit key is ~1400


class TagListError(ValueError):
    pass


def parse_tag_list(text: str) -> dict[str, str]:
    if len(text) > MAX_TAG_LIST_CHARS:
        raise TagListError("too long")
    tags: dict[str, str] = {}
    for part in text.split(";", MAX_TAGS + 1)[: MAX_TAGS + 1]:
        if not part.strip():
            continue
        name, eq, value = part.partition("=")
        name = name.strip().lower()
        if not eq or not name:
            raise TagListError(f"'{part.strip()[:40]}' is not tag=value")
        if name in tags:
            raise TagListError(f"tag {name} appears twice")
        tags[name] = "".join(value.split())
    if len(tags) > MAX_TAGS:
        raise TagListError("too many tags")
    return tags


@dataclass(frozen=True)
class DkimSignature:
    domain: str  # d=
    selector: str  # s=
    algorithm: str  # a=
    signed_headers: tuple[str, ...]  # h=, lower-case

    @property
    def key_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"


def parse_signature(value: str) -> DkimSignature:
    tags = parse_tag_list(value)
    domain, selector = tags.get("d", "").lower(), tags.get("s", "").lower()
    if not domain or not selector or not tags.get("b") or not tags.get("h"):
        raise TagListError("d=, s=, h= and b= are required")
    if any(c in domain + selector for c in "/\\ ") or len(domain) > 253 or len(selector) > 63:
        raise TagListError("bad d= or s=")
    headers = tuple(h.strip().lower() for h in tags["h"].split(":") if h.strip())
    return DkimSignature(domain, selector, tags.get("a", "").lower(), headers)


@dataclass(frozen=True)
class DkimKey:
    kind: str  # rsa | ed25519
    bits: int  # RSA modulus size; 256 for ed25519


def is_revoked(record: str) -> bool:
    try:
        return parse_tag_list(record).get("p", "") == ""
    except TagListError:
        return False


def parse_key(record: str) -> DkimKey:
    """The key of a ``v=DKIM1; k=…; p=…`` record; TagListError when it is not a usable key."""
    tags = parse_tag_list(record)
    if tags.get("v", "DKIM1") != "DKIM1":
        raise TagListError("v= must be DKIM1")
    kind = tags.get("k", "rsa").lower()
    data = tags.get("p", "")
    if not data:
        raise TagListError("p= is empty (key revoked)")
    if len(data) > MAX_KEY_CHARS:
        raise TagListError("p= too long")
    try:
        der = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise TagListError("p= is not base64") from None
    if kind == "ed25519":
        if len(der) != 32:
            raise TagListError("an ed25519 key is 32 bytes")
        ed25519.Ed25519PublicKey.from_public_bytes(der)
        return DkimKey("ed25519", 256)
    if kind != "rsa":
        raise TagListError(f"k={kind[:20]} is not rsa or ed25519")
    try:
        key = load_der_public_key(der)
    except (ValueError, TypeError):
        raise TagListError("p= is not an RSA public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise TagListError("p= is not an RSA public key")
    return DkimKey("rsa", key.key_size)
