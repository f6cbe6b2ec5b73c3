"""Key management use cases: which columns are sealed, rotation and rebinding over all of them."""

from __future__ import annotations

from fluenzr.detection.webhooks import secret_context
from fluenzr.services.context import AppContext
from fluenzr.services.credential_binding import (
    IMAP_FIELD,
    SMTP_FIELD,
    imap_context,
    legacy_context,
    oauth_access_context,
    smtp_context,
)
from fluenzr.services.seal_keys import record_rotation
from fluenzr.storage.engine import transaction
from fluenzr.storage.models import Account
from fluenzr.storage.models.detection import Webhook
from fluenzr.vault.rotation import RotationReport, SealedColumn, rebind_legacy, rotate_keys


def _imap(row: Account) -> str:
    context = imap_context(row)
    # IMAP turned off with a password left behind: an impossible context, so it never opens.
    return context if context is not None else f"{legacy_context(row.id, IMAP_FIELD)}:off"


def sealed_columns() -> list[SealedColumn]:
    """Every column in the schema that holds vault-sealed bytes.

    Passwords are bound to their endpoint; their format-1 values (row and field only) are
    rebound. Webhook signing secrets keep their row binding: the secret never leaves the
    sending system (it signs, it is not sent), so a changed URL cannot harvest it.
    """
    return [
        SealedColumn(
            Account.smtp_password_sealed,
            smtp_context,
            legacy=lambda row: legacy_context(row.id, SMTP_FIELD),
        ),
        SealedColumn(
            Account.imap_password_sealed,
            _imap,
            legacy=lambda row: legacy_context(row.id, IMAP_FIELD),
        ),
        SealedColumn(Webhook.secret_sealed, lambda row: secret_context(row.id)),
        # OAuth access tokens (the refresh token is smtp_password_sealed, see smtp_context).
        SealedColumn(Account.oauth_access_sealed, oauth_access_context),
    ]


def rotate(ctx: AppContext) -> RotationReport:
    def record(new_id: str, old_ids: set[str]) -> None:
        with transaction(ctx.sessions) as session:
            record_rotation(session, new_id=new_id, old_ids=old_ids)

    return rotate_keys(
        ctx.vault,
        ctx.sessions,
        folder=ctx.settings.keys_dir,
        columns=sealed_columns(),
        on_new_key=record,
    )


def rebind(ctx: AppContext) -> int:
    """Bind every legacy password to the endpoint its row names now (sending system only)."""
    return rebind_legacy(ctx.vault, ctx.sessions, columns=sealed_columns())
