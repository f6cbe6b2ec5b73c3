"""OAuth 2.0 providers as data (``oauth_providers.toml``), with a deployment's overrides.

    provider = oauth_provider("google", settings)   # endpoints, servers, scopes, client id
    provider.configured                              # a client id and secret are set

Each provider names its authorization and token endpoints, the scopes mail needs, its SMTP and
IMAP servers and the SASL mechanism. Settings override the endpoints and servers (a deployment
or the tests point them at any standards-compliant authorization server) and give the client
id and secret. A token is only ever presented to the provider's servers named here.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any

from fluenzr.config import Settings
from fluenzr.core.oauth_provider import MailServer, OAuthProvider
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError

SECURITIES = ("starttls", "ssl")


@functools.cache
def _load() -> dict[str, dict[str, Any]]:
    text = resources.files("fluenzr.presets").joinpath("oauth_providers.toml").read_text("utf-8")
    return tomllib.loads(text)


def provider_keys() -> tuple[str, ...]:
    return tuple(_load())


def parse_server(value: str, *, field: str) -> MailServer:
    """``host:port:security`` (``smtp.gmail.com:465:ssl``)."""
    parts = value.strip().rsplit(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit() or parts[2] not in SECURITIES:
        raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": field, "value": value})
    host, port, security = parts
    return MailServer(host.lower(), int(port), security)


def oauth_provider(key: str, settings: Settings) -> OAuthProvider:
    data = _load().get(key.strip().lower())
    if data is None:
        raise ValidationError(
            ErrorCode.OAUTH_PROVIDER_UNKNOWN,
            params={"field": "provider", "value": key, "choices": ", ".join(_load())},
        )
    key = key.strip().lower()

    def setting(name: str) -> Any:
        return getattr(settings, f"oauth_{key}_{name}", None)

    tenant = settings.oauth_microsoft_tenant

    def endpoint(name: str) -> str:
        return str(setting(name) or data[name]).replace("{tenant}", tenant)

    return OAuthProvider(
        key=key,
        name=data["name"],
        authorization_endpoint=endpoint("authorization_endpoint"),
        token_endpoint=endpoint("token_endpoint"),
        scopes=tuple(data["scopes"]),
        authorize_params=tuple(sorted(data.get("authorize_params", {}).items())),
        smtp=parse_server(setting("smtp") or data["smtp"], field=f"oauth_{key}_smtp"),
        imap=parse_server(setting("imap") or data["imap"], field=f"oauth_{key}_imap"),
        mechanism=data["mechanism"],
        client_id=setting("client_id"),
        client_secret=setting("client_secret"),
    )


__all__ = ["MailServer", "OAuthProvider", "oauth_provider", "parse_server", "provider_keys"]
