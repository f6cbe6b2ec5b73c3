"""Account use cases: add, list, show, edit, remove — and opening credentials for sending.

Every write validates first (services.account_config) and runs in one transaction, so a
rejected command leaves the database as it was. Passwords are sealed by the vault with the
row id and field bound in, so only the sending system (holding a private key) can open them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fluenzr.core.endpoints import Endpoint, MailboxCredentials, Security, TlsPolicy
from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import DuplicateError, NotFoundError
from fluenzr.services import account_rules
from fluenzr.services.account_config import AccountConfig, AccountInput, resolve
from fluenzr.services.account_views import AccountView, to_view
from fluenzr.services.context import AppContext
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account

SMTP_FIELD = "smtp_password"
# Conservative defaults: a new mailbox sending like a robot gets blocked or burned.
DEFAULTS: dict[str, Any] = {
    "daily_limit": 50,
    "hourly_limit": 10,
    "min_interval": 60,
    "max_interval": 180,
    "timezone": "UTC",
    "status": "active",
}
IMAP_FIELD = "imap_password"

__all__ = [
    "AccountInput",
    "AccountView",
    "create_account",
    "get_account",
    "list_accounts",
    "open_credentials",
    "remove_account",
    "seal_context",
    "update_account",
]


def seal_context(account_id: int, field: str) -> str:
    """Associated data binding a ciphertext to its row and column."""
    return f"account:{account_id}:{field}"


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
    account.ca_file = config.ca_file
    account.pin_sha256 = config.pin_sha256
    for name, value in config.limits.items():
        setattr(account, name, value)
    if config.timezone:
        account.timezone = config.timezone
    if account.max_interval < account.min_interval:
        raise account_rules.invalid(ErrorCode.INTERVAL_ORDER, "max_interval")
    if config.imap_host is None:
        account.imap_password_sealed = None


def _seal_passwords(ctx: AppContext, account: Account, data: AccountInput) -> None:
    if data.password is not None:
        secret = account_rules.password(data.password)
        account.smtp_password_sealed = ctx.vault.seal(
            secret, context=seal_context(account.id, SMTP_FIELD)
        )
        account.credentials_changed_at = ctx.clock.now()
    if data.imap_password is not None and data.imap_password.reveal() and account.imap_host:
        account.imap_password_sealed = ctx.vault.seal(
            data.imap_password, context=seal_context(account.id, IMAP_FIELD)
        )
        account.credentials_changed_at = ctx.clock.now()


def create_account(ctx: AppContext, *, workspace_id: int, data: AccountInput) -> AccountView:
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
            raise DuplicateError(
                ErrorCode.ACCOUNT_DUPLICATE, params={"field": "email", "email": config.email}
            ) from None
        _seal_passwords(ctx, account, data)
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
        ca_file=account.ca_file,
        pin_sha256=account.pin_sha256,
        force=True,
    )


def update_account(
    ctx: AppContext, *, workspace_id: int, account_id: int, changes: dict[str, Any]
) -> AccountView:
    """Apply ``changes`` (AccountInput field names) and re-validate the whole account.

    ``imap_host=""`` turns IMAP off. A new password is sealed again and records
    ``credentials_changed_at`` (which lifts an ``auth_failed`` pause).
    """
    with transaction(ctx.sessions) as session:
        account = _load(session, workspace_id=workspace_id, account_id=account_id)
        current = _as_input(account)
        touched_ports = {"smtp_port", "smtp_security", "imap_port", "imap_security"} & set(changes)
        merged = current.with_changes({"force": not touched_ports, **changes})
        config = resolve(merged)
        _ensure_unique(session, workspace_id=workspace_id, email=config.email, exclude=account.id)
        keep_provider = account.provider
        _apply(account, config)
        if "preset" not in changes and config.provider == "custom":
            account.provider = keep_provider
        _seal_passwords(ctx, account, merged)
        return to_view(account)


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


def open_credentials(ctx: AppContext, *, account_id: int) -> MailboxCredentials:
    """Decrypt an account's credentials. Only the sending system (private key holder) can."""
    with ctx.sessions() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id})
        smtp_password = ctx.vault.open(
            account.smtp_password_sealed, context=seal_context(account.id, SMTP_FIELD)
        )
        tls = TlsPolicy(ca_file=account.ca_file, pin_sha256=account.pin_sha256)
        smtp = Endpoint(
            host=account.smtp_host,
            port=account.smtp_port,
            security=Security(account.smtp_security),
            username=account.smtp_username,
            password=smtp_password,
            tls=tls,
        )
        return MailboxCredentials(
            account_id=account.id,
            workspace_id=account.workspace_id,
            email=account.email,
            display_name=account.display_name,
            smtp=smtp,
            imap=_imap_endpoint(ctx, account, smtp_password, tls),
        )


def _imap_endpoint(
    ctx: AppContext, account: Account, smtp_password: Secret, tls: TlsPolicy
) -> Endpoint | None:
    if not account.imap_host or account.imap_port is None or account.imap_security is None:
        return None
    password = smtp_password
    if account.imap_password_sealed:
        password = ctx.vault.open(
            account.imap_password_sealed, context=seal_context(account.id, IMAP_FIELD)
        )
    return Endpoint(
        host=account.imap_host,
        port=account.imap_port,
        security=Security(account.imap_security),
        username=account.imap_username or account.smtp_username,
        password=password,
        tls=tls,
    )
