"""SASL initial responses for OAuth 2.0 (XOAUTH2, OAUTHBEARER RFC 7628) and their error challenges.

    sasl.initial_response("XOAUTH2", user="ana@example.com", token=access_token)  # base64 bytes

Both mechanisms send the bearer token in the client's first message. A refusal comes back as a
continuation (SMTP ``334``, IMAP ``+``) carrying base64 JSON — ``{"status": "401", "scope":
"https://mail.google.com/", "schemes": "bearer"}`` — to which the client must answer with an
empty response (XOAUTH2) or ``%x01`` (OAUTHBEARER, RFC 7628 §3.2.3) before the server sends its
final failure. The JSON is the server's: hostile input, decoded with a size cap and only the
three known keys kept as short strings.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

XOAUTH2 = "XOAUTH2"
OAUTHBEARER = "OAUTHBEARER"
OAUTH_MECHANISMS = (XOAUTH2, OAUTHBEARER)
MAX_CHALLENGE = 4096  # bytes of base64 we are willing to decode


@dataclass(frozen=True)
class OAuthChallenge:
    """What a server said when it refused a token (RFC 7628 §3.2.2)."""

    status: str = ""
    scope: str = ""
    schemes: str = ""

    def describe(self) -> str:
        parts = [f"status={self.status}" if self.status else ""]
        parts.append(f"scope={self.scope}" if self.scope else "")
        return " ".join(p for p in parts if p)


def _checked(value: str, what: str) -> str:
    if any(c in value for c in "\x00\x01\r\n"):
        raise ValueError(f"the {what} may not contain control characters")
    return value


def initial_response(
    mechanism: str, *, user: str, token: str, host: str = "", port: int = 0
) -> bytes:
    """The base64 client first message for ``mechanism`` (no protocol framing)."""
    user, token = _checked(user, "user name"), _checked(token, "token")
    if mechanism == XOAUTH2:
        raw = f"user={user}\x01auth=Bearer {token}\x01\x01"
    elif mechanism == OAUTHBEARER:
        # gs2 header "n,a=<authzid>," with ',' and '=' escaped (RFC 5801 §4), then key/values.
        authzid = user.replace("=", "=3D").replace(",", "=2C")
        extra = f"host={host}\x01port={port}\x01" if host else ""
        raw = f"n,a={authzid},\x01{extra}auth=Bearer {token}\x01\x01"
    else:
        raise ValueError(f"not an OAuth mechanism: {mechanism}")
    return base64.b64encode(raw.encode("utf-8"))


def failure_reply(mechanism: str) -> bytes:
    """What the client answers to an error challenge: empty (XOAUTH2) or %x01 (OAUTHBEARER)."""
    return base64.b64encode(b"\x01") if mechanism == OAUTHBEARER else b""


def parse_challenge(text: str | bytes) -> OAuthChallenge:
    """Decode a server's base64 JSON error challenge; garbage gives an empty challenge."""
    data = text.encode("ascii", "replace") if isinstance(text, str) else bytes(text)
    data = data.strip()
    if not data or len(data) > MAX_CHALLENGE:
        return OAuthChallenge()
    try:
        decoded = json.loads(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return OAuthChallenge()
    if not isinstance(decoded, dict):
        return OAuthChallenge()

    def field(name: str) -> str:
        value = decoded.get(name)
        return str(value)[:200] if isinstance(value, str | int) else ""

    return OAuthChallenge(status=field("status"), scope=field("scope"), schemes=field("schemes"))


__all__ = [
    "OAUTHBEARER",
    "OAUTH_MECHANISMS",
    "XOAUTH2",
    "OAuthChallenge",
    "failure_reply",
    "initial_response",
    "parse_challenge",
]
