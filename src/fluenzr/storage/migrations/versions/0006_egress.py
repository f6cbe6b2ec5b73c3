"""egress: CA certificates stored as PEM text (no server path), explicit SMTP "no auth" flag

Each account's ``ca_file`` path becomes ``smtp_ca_pem`` / ``imap_ca_pem`` text (the old path
applied to both). The file is read once, here, by the operator running the migration: only a
regular file of at most 64 KB that parses as X.509 PEM is kept; anything else (missing,
unreadable, a FIFO, a key, garbage) is dropped — the account then trusts the system store and
Probar shows the certificate error with its fingerprint. Nothing from the file other than the
parsed certificates is stored or logged.

Revision ID: 0005_egress
Revises: 0004
"""

import os
import stat

import sqlalchemy as sa
from alembic import op
from cryptography import x509
from cryptography.hazmat.primitives import serialization

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_MAX = 64 * 1024


def _read_pem(path: str) -> str | None:
    try:
        # O_NONBLOCK: opening a FIFO must not hang the migration; only regular files are read.
        fd = os.open(os.path.expanduser(path), os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX:
            return None
        data = os.read(fd, _MAX + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if b"PRIVATE KEY" in data or b"-----BEGIN CERTIFICATE-----" not in data:
        return None
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        return None
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certificates)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("smtp_ca_pem", sa.Text))
        batch.add_column(sa.Column("imap_ca_pem", sa.Text))
        batch.add_column(
            sa.Column("smtp_auth", sa.Boolean, nullable=False, server_default=sa.true())
        )
    accounts = sa.table(
        "accounts",
        sa.column("id", sa.Integer),
        sa.column("ca_file", sa.Text),
        sa.column("imap_host", sa.String),
        sa.column("smtp_ca_pem", sa.Text),
        sa.column("imap_ca_pem", sa.Text),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(accounts.c.id, accounts.c.ca_file, accounts.c.imap_host).where(
            accounts.c.ca_file.is_not(None)
        )
    ).all()
    for account_id, path, imap_host in rows:
        pem = _read_pem(path) if path else None
        if pem is None:
            continue
        conn.execute(
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(smtp_ca_pem=pem, imap_ca_pem=pem if imap_host else None)
        )
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("ca_file")


def downgrade() -> None:
    # The PEM text has no path to go back to: accounts trust the system store again.
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("ca_file", sa.Text))
        batch.drop_column("smtp_auth")
        batch.drop_column("imap_ca_pem")
        batch.drop_column("smtp_ca_pem")
