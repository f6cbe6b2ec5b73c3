"""Chunked import writes (one transaction per chunk), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from fluenzr.core.secret import Secret
from fluenzr.services import account_csv, account_import, accounts
from fluenzr.services.account_import import RowResult
from fluenzr.services.accounts import open_credentials
from fluenzr.services.context import AppContext, default_workspace_id
from fluenzr.storage.models import Account
from fluenzr.storage.models.fleet import AccountTag

HEADER = "Email,Name,SMTP Host,SMTP Port,Password,IMAP Host,Tags,Warmup Start\n"


def _csv(count: int, *, bad: int | None = None) -> bytes:
    lines = [HEADER]
    for n in range(count):
        port = "99999" if n == bad else "587"
        lines.append(
            f"u{n}@example.com,U {n},smtp.example.com,{port},Chunk-pw-{n},smtp.example.com,"
            f"fleet;c{n % 2},{n + 1}\n"
        )
    return "".join(lines).encode()


def _snapshot(ctx: AppContext) -> tuple[int, list[tuple[object, ...]], list[tuple[int, str]]]:
    with ctx.sessions() as session:
        count = session.scalar(select(func.count()).select_from(Account)) or 0
        rows = session.execute(
            select(
                Account.id,
                Account.email,
                Account.smtp_password_sealed,
                Account.warmup_start,
                Account.updated_at,
            ).order_by(Account.id)
        ).all()
        tags = session.execute(select(AccountTag.account_id, AccountTag.tag)).all()
        return count, [tuple(r) for r in rows], sorted((a, t) for a, t in tags)


def test_a_row_refused_inside_a_chunk_is_reported_and_the_others_written(
    app_any_db: AppContext,
) -> None:
    ctx = app_any_db
    ws = default_workspace_id(ctx.sessions)
    parsed = account_csv.parse_csv(_csv(6, bad=1))
    created_meanwhile: list[int] = []

    def meanwhile(rows: list[RowResult]) -> None:
        # After the first chunk, "another request" adds u4: the next chunk's INSERT fails on
        # the unique address, so that chunk is written row by row.
        if not created_meanwhile:
            data = accounts.AccountInput(
                email="u4@example.com", smtp_host="smtp.example.com", password=Secret("x-pw-1")
            )
            created_meanwhile.append(accounts.create_account(ctx, workspace_id=ws, data=data).id)

    report = account_import.run_import(
        ctx, parsed, workspace_id=ws, lang="en", chunk_size=3, on_progress=meanwhile
    )
    statuses = [r.status for r in report.rows]
    assert statuses == ["created", "invalid", "created", "created", "exists", "created"]
    assert report.rows[1].errors[0]["code"] == "port_invalid"
    count, rows, tags = _snapshot(ctx)
    assert count == 5  # four imported + the one created meanwhile
    assert {r[1] for r in rows} == {f"u{n}@example.com" for n in (0, 2, 3, 4, 5)}
    for result in report.rows:
        if result.status == "created":
            assert result.account_id is not None
            opened = open_credentials(ctx, account_id=result.account_id)
            assert opened.smtp.password.reveal() == f"Chunk-pw-{result.line - 2}"
            assert (result.account_id, "fleet") in tags
    assert all(account_id != created_meanwhile[0] for account_id, _ in tags)


def test_reimport_at_chunk_size_changes_nothing(app_any_db: AppContext) -> None:
    ctx = app_any_db
    ws = default_workspace_id(ctx.sessions)
    parsed = account_csv.parse_csv(_csv(7))
    first = account_import.run_import(ctx, parsed, workspace_id=ws, chunk_size=3)
    assert first.counts == {"created": 7}
    before = _snapshot(ctx)
    assert before[0] == 7 and len(before[2]) == 14
    with ctx.sessions() as session:
        stored = session.scalar(select(Account).where(Account.email == "u6@example.com"))
        assert stored is not None
        # The columns a chunk writes are the ones the form's path writes.
        assert (stored.display_name, stored.warmup_start, stored.daily_limit) == ("U 6", 7, 50)
        assert (stored.auth_method, stored.smtp_auth, stored.status) == ("password", True, "active")
        assert stored.credentials_changed_at is not None and stored.created_at is not None
    for size in (3, 7, 1):
        again = account_import.run_import(ctx, parsed, workspace_id=ws, chunk_size=size)
        assert again.counts == {"exists": 7}
        assert _snapshot(ctx) == before
