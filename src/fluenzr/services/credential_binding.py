"""What a stored password is bound to: its account, its field and the endpoint it was given for.

A password is sealed with :func:`endpoint_context` as the vault's associated data. Changing any
bound value of the row — host, port, security, username, TLS pin or CA, by the UI, the API,
the CLI or a raw SQL ``UPDATE`` — makes the ciphertext fail to open, so the sending system can
never be tricked into logging in somewhere else with it.

The context is canonical JSON (sorted keys, no spaces, ASCII) after a version tag: every value
is quoted or a number, so no two different endpoints encode to the same bytes. To bind a new
trust field, add it to :func:`endpoint_context` and bump :data:`CONTEXT_TAG` together with the
vault format, with a rebind step from the previous context (see ``services.keys``).
"""

from __future__ import annotations

import hashlib
import json

from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import CredentialsEndpointChanged, ValidationError, VaultError
from fluenzr.presets.catalogue import get_preset
from fluenzr.storage.models import Account
from fluenzr.vault import Vault, sealed_version

SMTP_FIELD = "smtp_password"
IMAP_FIELD = "imap_password"
CONTEXT_TAG = "fluenzr:endpoint:v2"


def legacy_context(account_id: int, field: str) -> str:
    """The context of version-1 ciphertexts (row and column only; no endpoint)."""
    return f"account:{account_id}:{field}"


def _digest(material: str | bytes | None) -> str | None:
    if material is None or material == "":
        return None
    raw = material.encode("utf-8") if isinstance(material, str) else material
    return hashlib.sha256(raw).hexdigest()


def endpoint_context(
    *,
    account_id: int,
    field: str,
    host: str,
    port: int,
    security: str,
    username: str,
    pin_sha256: str | None,
    ca_material: str | bytes | None,
) -> str:
    """The associated data a password is sealed with. Every argument changes the result."""
    bound = {
        "account": account_id,
        "field": field,
        "host": host,
        "port": port,
        "security": security,
        "username": username,
        "tls": {"pin_sha256": pin_sha256 or None, "ca_sha256": _digest(ca_material)},
    }
    body = json.dumps(bound, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return f"{CONTEXT_TAG}\n{body}"


OAUTH_REFRESH_FIELD = "oauth_refresh_token"
OAUTH_ACCESS_FIELD = "oauth_access_token"
OAUTH_CONTEXT_TAG = "fluenzr:oauth:v1"


def oauth_context(account: Account, field: str) -> str:
    """An OAuth token's associated data: the provider, its token endpoint and *both* mail
    servers it may be presented to. A row whose provider, token endpoint, SMTP or IMAP server,
    user or TLS trust changed no longer opens its tokens (``credentials_endpoint_changed``)."""
    bound = {
        "account": account.id,
        "field": field,
        "provider": account.provider,
        "token_endpoint": account.oauth_token_endpoint,
        "smtp": [account.smtp_host, account.smtp_port, account.smtp_security],
        "imap": [account.imap_host, account.imap_port, account.imap_security],
        "username": account.smtp_username,
        "tls": {
            "pin_sha256": account.pin_sha256 or None,
            "smtp_ca_sha256": _digest(account.smtp_ca_pem),
            "imap_ca_sha256": _digest(account.imap_ca_pem),
        },
    }
    body = json.dumps(bound, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return f"{OAUTH_CONTEXT_TAG}\n{body}"


def oauth_access_context(account: Account) -> str:
    return oauth_context(account, OAUTH_ACCESS_FIELD)


def smtp_context(account: Account) -> str:
    """The context of ``smtp_password_sealed``: the SMTP password, or an OAuth refresh token."""
    if account.is_oauth:
        return oauth_context(account, OAUTH_REFRESH_FIELD)
    return endpoint_context(
        account_id=account.id,
        field=SMTP_FIELD,
        host=account.smtp_host,
        port=account.smtp_port,
        security=account.smtp_security,
        username=account.smtp_username,
        pin_sha256=account.pin_sha256,
        # The digest of exactly the CA text the transport will trust is bound.
        ca_material=account.smtp_ca_pem,
    )


def imap_context(account: Account) -> str | None:
    """The IMAP password's context, or None when IMAP is off."""
    if not account.imap_host or account.imap_port is None or account.imap_security is None:
        return None
    return endpoint_context(
        account_id=account.id,
        field=IMAP_FIELD,
        host=account.imap_host,
        port=account.imap_port,
        security=account.imap_security,
        username=account.imap_username or account.smtp_username,
        pin_sha256=account.pin_sha256,
        ca_material=account.imap_ca_pem,
    )


def may_reuse_smtp_password(*, smtp_host: str, imap_host: str, provider: str | None) -> bool:
    """The SMTP password may log in to IMAP only on the same host, or the preset's own pair."""
    if imap_host == smtp_host:
        return True
    if not provider or provider == "custom":
        return False
    try:
        preset = get_preset(provider)
    except ValidationError:  # an unknown preset key (renamed preset): no reuse
        return False
    return preset.smtp_host == smtp_host and preset.imap_host == imap_host


def open_bound(
    vault: Vault, sealed: bytes, *, account: Account, field: str, context: str
) -> Secret:
    """Open one sealed credential for the endpoint ``context`` names now, or raise a typed
    error: a version-1 value was never bound (``credentials_need_rebind``), and one that does
    not open under today's context was entered for another endpoint."""
    if sealed_version(sealed) < 2:
        # Not bound to an endpoint: never used to log in; `fluenzr keys rebind` upgrades it.
        raise VaultError(
            ErrorCode.CREDENTIALS_NEED_REBIND, params={"id": account.id, "field": field}
        )
    try:
        return vault.open(sealed, context=context)
    except VaultError as exc:
        if exc.code is not ErrorCode.VAULT_OPEN_FAILED:
            raise
        # The cause says no more than this error: nothing to chain.
        raise CredentialsEndpointChanged(params={"id": account.id, "field": field}) from None
