"""Key management use cases: which columns are sealed, and rotation over all of them."""

from __future__ import annotations

from fluenzr.services.accounts import IMAP_FIELD, SMTP_FIELD, seal_context
from fluenzr.services.context import AppContext
from fluenzr.storage.models import Account
from fluenzr.storage.models.detection import Webhook
from fluenzr.vault.rotation import RotationReport, SealedColumn, rotate_keys


def sealed_columns() -> list[SealedColumn]:
    """Every column in the schema that holds vault-sealed bytes.

    Areas that seal other secrets (e.g. webhook signing secrets) add their column here.
    """
    columns = [
        SealedColumn(Account.smtp_password_sealed, lambda row: seal_context(row.id, SMTP_FIELD)),
        SealedColumn(Account.imap_password_sealed, lambda row: seal_context(row.id, IMAP_FIELD)),
        SealedColumn(Webhook.secret_sealed, lambda row: f"webhook:{row.id}:secret"),
    ]
    return columns


def rotate(ctx: AppContext) -> RotationReport:
    return rotate_keys(
        ctx.vault, ctx.sessions, folder=ctx.settings.keys_dir, columns=sealed_columns()
    )
