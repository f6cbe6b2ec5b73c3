"""Account use cases: add, list, show, edit, remove — and opening credentials for sending.

Every write validates first (services.account_config) and runs in one transaction, so a
rejected command leaves the database as it was. Passwords are sealed by the vault with the
row, the field and the endpoint bound in (services.credential_binding), so only the sending
system (holding a private key) can open them, and only for the server they were given for:
an endpoint change without the password again is refused here, for every boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fluenzr.core.egress import EgressPolicy
from fluenzr.core.endpoints import Endpoint, MailboxCredentials, Security, TlsPolicy
from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import CredentialsEndpointChanged, DuplicateError, NotFoundError
from fluenzr.services import account_rules
from fluenzr.services.account_config import AccountConfig, AccountInput, resolve
from fluenzr.services.account_views import AccountView, to_view
from fluenzr.services.context import AppContext
from fluenzr.services.credential_binding import (
    IMAP_FIELD,
    SMTP_FIELD,
    imap_context,
    may_reuse_smtp_password,
    open_bound,
    smtp_context,
)
from fluenzr.services.oauth_tokens import oauth_credentials
from fluenzr.services.seal_keys import ensure_sealing_key_current
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account

# Conservative defaults: a new mailbox sending like a robot gets blocked or burned.
DEFAULTS: dict[str, Any] = {
    "daily_limit": 50,
    "hourly_limit": 10,
    "min_interval": 60,
    "max_interval": 180,
    "timezone": "UTC",
    "status": "active",
}

__all__ = [
    "IMAP_FIELD",
    "SMTP_FIELD",
    "AccountInput",
    "AccountView",
    "check_account_update",
    "check_new_account",
    "create_account",
    "get_account",
    "list_accounts",
    "new_account",
    "open_credentials",
    "remove_account",
    "seal_passwords",
    "update_account",
]


def _load(session: Session, *, workspace_id: int, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.workspace_id != workspace_id:
        raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id})
    return account


def _ensure_unique(session: Session, *, workspace_id: int, email: str, exclude: int | None) -> None:
    query = select(Account.id).where(Account.workspace_id == workspace_id, Account.email == email)
    found = session.scalar(query)
    if found is not None and found != exclude:
        raise DuplicateError(ErrorCode.ACCOUNT_DUPLICATE, params={"field": "email", "email": email})


def _apply(account: Account, config: AccountConfig) -> None:
    account.email = config.email
    account.display_name = config.display_name
    account.provider = config.provider
    account.smtp_host = config.smtp_host
    account.smtp_port = config.smtp_port
    account.smtp_security = config.smtp_security.value
    account.smtp_username = config.smtp_username
    account.imap_host = config.imap_host
    account.imap_port = config.imap_port
    account.imap_security = config.imap_security.value if config.imap_security else None
    account.imap_username = config.imap_username
    account.smtp_ca_pem = config.smtp_ca_pem
    account.imap_ca_pem = config.imap_ca_pem
    account.smtp_auth = config.smtp_auth
    account.pin_sha256 = config.pin_sha256
    for name, value in config.limits.items():
        setattr(account, name, value)
    if "hourly_limit" not in config.limits and account.hourly_limit > account.daily_limit:
        # Only the daily cap was given (API, CLI): the hourly one follows it down.
        account.hourly_limit = account.daily_limit
    if config.timezone:
        account.timezone = config.timezone
    account_rules.limits_order(
        daily=account.daily_limit,
        hourly=account.hourly_limit,
        min_interval=account.min_interval,
        max_interval=account.max_interval,
    )
    if config.imap_host is None:
        account.imap_password_sealed = None


def _check_bindings(
    account: Account, data: AccountInput, *, before: tuple[str | None, str | None]
) -> None:
    """An endpoint may change only together with its password (nothing is written otherwise).

    ``before`` is the (SMTP, IMAP) context of the row as stored, ``(None, None)`` for a new row.
    """
    new_imap = bool(data.imap_password is not None and data.imap_password.reveal())
    # The password test first: a new row always has one, so its context is not built twice.
    if data.password is None and smtp_context(account) != before[0]:
        raise account_rules.invalid(ErrorCode.ENDPOINT_CHANGED_PASSWORD_REQUIRED, "password")
    imap = imap_context(account)
    if imap is None or new_imap:
        return
    if account.imap_password_sealed:
        if imap != before[1]:
            raise account_rules.invalid(
                ErrorCode.ENDPOINT_CHANGED_PASSWORD_REQUIRED, "imap_password"
            )
        return
    if not may_reuse_smtp_password(
        smtp_host=account.smtp_host, imap_host=str(account.imap_host), provider=account.provider
    ):
        raise account_rules.invalid(
            ErrorCode.IMAP_PASSWORD_REQUIRED, "imap_password", host=account.imap_host
        )


def seal_passwords(ctx: AppContext, account: Account, data: AccountInput) -> list[bytes]:
    """Seal the row's new passwords onto ``account`` (its id and endpoint bound in); the
    sealed values, which the caller's transaction must check with
    :func:`~fluenzr.services.seal_keys.ensure_sealing_key_current` before commit."""
    sealed: list[bytes] = []
    if data.password is not None:
        secret = account_rules.password(data.password)
        account.smtp_password_sealed = ctx.vault.seal(secret, context=smtp_context(account))
        sealed.append(account.smtp_password_sealed)
    imap = imap_context(account)
    if data.imap_password is not None and data.imap_password.reveal() and imap is not None:
        account.imap_password_sealed = ctx.vault.seal(data.imap_password, context=imap)
        sealed.append(account.imap_password_sealed)
    if sealed:
        account.credentials_changed_at = ctx.clock.now()
    return sealed


def _seal_passwords(
    ctx: AppContext, session: Session, account: Account, data: AccountInput
) -> None:
    sealed = seal_passwords(ctx, account, data)
    if sealed:
        ensure_sealing_key_current(session, sealed)


# Extra writes in the same transaction as the account (the importer's tags and warm-up).
AlsoWrite = Callable[[Session, Account], None]


def check_new_account(data: AccountInput) -> AccountConfig:
    """Every check :func:`create_account` makes before storage, writing nothing (a dry run)."""
    return new_account(data, workspace_id=0)[1]


def new_account(data: AccountInput, *, workspace_id: int) -> tuple[Account, AccountConfig]:
    """The row :func:`create_account` would insert, checked, not added to any session (the
    importer inserts many at once); passwords not sealed yet (the id is not known)."""
    config = resolve(data)
    account_rules.password(data.password)
    account = Account(workspace_id=workspace_id, smtp_password_sealed=b"", **DEFAULTS)
    _apply(account, config)
    _check_bindings(account, data, before=(None, None))
    return account, config


def create_account(
    ctx: AppContext, *, workspace_id: int, data: AccountInput, also: AlsoWrite | None = None
) -> AccountView:
    config = resolve(data)
    account_rules.password(data.password)
    with transaction(ctx.sessions) as session:
        _ensure_unique(session, workspace_id=workspace_id, email=config.email, exclude=None)
        account = Account(workspace_id=workspace_id, smtp_password_sealed=b"", **DEFAULTS)
        _apply(account, config)
        session.add(account)
        try:
            session.flush()  # the id is part of the sealed secret's associated data
        except IntegrityError:
            # from None: the driver's error repeats the INSERT's parameters (sealed passwords).
            raise DuplicateError(
                ErrorCode.ACCOUNT_DUPLICATE, params={"field": "email", "email": config.email}
            ) from None
        _check_bindings(account, data, before=(None, None))
        _seal_passwords(ctx, session, account, data)
        if also is not None:
            also(session, account)
        return to_view(account)


def _as_input(account: Account) -> AccountInput:
    return AccountInput(
        email=account.email,
        display_name=account.display_name,
        smtp_host=account.smtp_host,
        smtp_port=account.smtp_port,
        smtp_security=account.smtp_security,
        username=account.smtp_username,
        imap_host=account.imap_host,
        imap_port=account.imap_port,
        imap_security=account.imap_security,
        imap_username=account.imap_username,
        smtp_ca_pem=account.smtp_ca_pem,
        imap_ca_pem=account.imap_ca_pem,
        pin_sha256=account.pin_sha256,
        smtp_auth=account.smtp_auth,
        force=True,
    )


def update_account(
    ctx: AppContext,
    *,
    workspace_id: int,
    account_id: int,
    changes: dict[str, Any],
    also: AlsoWrite | None = None,
) -> AccountView:
    """Apply ``changes`` (AccountInput field names) and re-validate the whole account.

    ``imap_host=""`` turns IMAP off. A new password is sealed again and records
    ``credentials_changed_at`` (which lifts an ``auth_failed`` pause).

    A pinned certificate belongs to one server: when the SMTP or IMAP host changes and the
    pin is not changed with it, the pin is cleared. Any change to the connection or the
    credentials clears the last Probar result: the account is "untested" again.
    """
    with transaction(ctx.sessions) as session:
        account = _load(session, workspace_id=workspace_id, account_id=account_id)
        merged = _change(session, account, changes, workspace_id=workspace_id)
        _seal_passwords(ctx, session, account, merged)
        if also is not None:
            also(session, account)
        return to_view(account)


def check_account_update(
    ctx: AppContext, *, workspace_id: int, account_id: int, changes: dict[str, Any]
) -> None:
    """Every check :func:`update_account` makes, writing nothing (a dry run): rolled back."""
    with ctx.sessions() as session:
        try:
            account = _load(session, workspace_id=workspace_id, account_id=account_id)
            _change(session, account, changes, workspace_id=workspace_id)
        finally:
            session.rollback()


def _change(
    session: Session, account: Account, changes: dict[str, Any], *, workspace_id: int
) -> AccountInput:
    """Validate ``changes`` merged into the row and apply them (passwords not sealed yet)."""
    current = _as_input(account)
    before = (smtp_context(account), imap_context(account))
    hosts = (account.smtp_host, account.imap_host)
    changes = _drop_stale_pin(changes, hosts=hosts, pin=account.pin_sha256)
    touched_ports = {"smtp_port", "smtp_security", "imap_port", "imap_security"} & set(changes)
    merged = current.with_changes({"force": not touched_ports, **changes})
    config = resolve(merged)
    _ensure_unique(session, workspace_id=workspace_id, email=config.email, exclude=account.id)
    keep_provider = account.provider
    _apply(account, config)
    if "preset" not in changes and config.provider == "custom":
        account.provider = keep_provider
    _check_bindings(account, merged, before=before)
    if _connection_changed(account, merged, before=before):
        _forget_last_test(account)
    return merged


def _drop_stale_pin(
    changes: dict[str, Any], *, hosts: tuple[str, str | None], pin: str | None
) -> dict[str, Any]:
    """Clear the pin when a host changes and the caller kept (or did not send) the old pin."""
    if not pin:
        return changes
    moved = any(
        name in changes and changes[name] not in (None, old)
        for name, old in zip(("smtp_host", "imap_host"), hosts, strict=True)
    )
    kept = str(changes.get("pin_sha256") or pin).lower().replace(":", "") == pin
    if moved and kept:
        return {**changes, "pin_sha256": ""}
    return changes


def _connection_changed(
    account: Account, data: AccountInput, *, before: tuple[str | None, str | None]
) -> bool:
    new_secret = data.password is not None or bool(
        data.imap_password is not None and data.imap_password.reveal()
    )
    return new_secret or (smtp_context(account), imap_context(account)) != before


def _forget_last_test(account: Account) -> None:
    """The last Probar result was about other settings: the account is untested again."""
    account.last_test_at = None
    account.last_test_ok = None
    account.last_test_result = None
    if account.status == "error":  # an error found by a test of the old settings
        account.status = "active"
        account.status_reason = None
        account.last_error = None


def get_account(ctx: AppContext, *, workspace_id: int, account_id: int) -> AccountView:
    with ctx.sessions() as session:
        return to_view(_load(session, workspace_id=workspace_id, account_id=account_id))


def list_accounts(ctx: AppContext, *, workspace_id: int) -> list[AccountView]:
    with ctx.sessions() as session:
        rows = session.scalars(
            select(Account).where(Account.workspace_id == workspace_id).order_by(Account.id)
        )
        return [to_view(row) for row in rows]


def remove_account(ctx: AppContext, *, workspace_id: int, account_id: int) -> None:
    with transaction(ctx.sessions) as session:
        session.delete(_load(session, workspace_id=workspace_id, account_id=account_id))


def open_credentials(
    ctx: AppContext, *, account_id: int, renew: bool = False
) -> MailboxCredentials:
    """Decrypt an account's credentials. Only the sending system (private key holder) can.

    OAuth accounts get a fresh access token (``renew``: the server refused the last one)."""
    with ctx.sessions() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id})
        if account.is_oauth:
            session.close()
            return oauth_credentials(ctx, account_id, renew=renew)
        smtp_password = open_bound(
            ctx.vault,
            account.smtp_password_sealed,
            account=account,
            field=SMTP_FIELD,
            context=smtp_context(account),
        )
        egress = EgressPolicy(ctx.settings.egress_policy)
        smtp = Endpoint(
            host=account.smtp_host,
            port=account.smtp_port,
            security=Security(account.smtp_security),
            username=account.smtp_username,
            password=smtp_password,
            tls=TlsPolicy(ca_pem=account.smtp_ca_pem, pin_sha256=account.pin_sha256),
            authenticate=account.smtp_auth,
            egress=egress,
        )
        return MailboxCredentials(
            account_id=account.id,
            workspace_id=account.workspace_id,
            email=account.email,
            display_name=account.display_name,
            smtp=smtp,
            imap=_imap_endpoint(ctx, account, smtp_password, egress),
        )


def _imap_endpoint(
    ctx: AppContext, account: Account, smtp_password: Secret, egress: EgressPolicy
) -> Endpoint | None:
    context = imap_context(account)
    if context is None or not account.imap_host:
        return None
    assert account.imap_port is not None and account.imap_security is not None
    password = smtp_password
    if account.imap_password_sealed:
        password = open_bound(
            ctx.vault,
            account.imap_password_sealed,
            account=account,
            field=IMAP_FIELD,
            context=context,
        )
    elif not may_reuse_smtp_password(
        smtp_host=account.smtp_host, imap_host=account.imap_host, provider=account.provider
    ):
        # The IMAP host was moved away from the SMTP one behind the service's back.
        raise CredentialsEndpointChanged(params={"id": account.id, "field": IMAP_FIELD})
    return Endpoint(
        host=account.imap_host,
        port=account.imap_port,
        security=Security(account.imap_security),
        username=account.imap_username or account.smtp_username,
        password=password,
        tls=TlsPolicy(ca_pem=account.imap_ca_pem, pin_sha256=account.pin_sha256),
        egress=egress,
    )
