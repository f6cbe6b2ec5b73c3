"""`fluenzr events`: replies, auto-replies, bounces, sends, pauses."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fluenzr.cli.output import handled, print_json, table
from fluenzr.cli.state import STATE

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add `events` to the root app."""
    app.command("events")(cmd_events)


def cmd_events(
    types: Annotated[
        list[str] | None, typer.Option("--type", help="Event type (repeatable): reply, bounce …")
    ] = None,
    since: Annotated[str | None, typer.Option(help="ISO date/time, e.g. 2026-11-28.")] = None,
    account: Annotated[int | None, typer.Option(help="Account id.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (newest first).")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List events: replies, auto-replies, bounces, sends, pauses."""
    from fluenzr.services import events_query  # lazy: SQLAlchemy, only for this command

    with handled(as_json=as_json):
        views = events_query.list_events(
            STATE.app(),
            workspace_id=STATE.workspace_id(),
            types=[t for value in types or [] for t in value.split(",")],
            since=events_query.parse_since(since),
            account_id=account,
            limit=limit,
        )
    if as_json:
        print_json([v.model_dump(mode="json") for v in views])
        return
    from fluenzr.i18n import translate  # lazy: catalogues only for text output

    rows = [
        (
            v.id,
            v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            v.type,
            v.account_id,
            v.message_id,
            v.recipient,
            _summary(v.data),
        )
        for v in views
    ]
    table(translate("detect.events_title"), ["id", "UTC", "type", "account", "msg", "to", ""], rows)


def _summary(data: dict[str, Any]) -> str:
    for key in ("text", "diagnostic", "reason", "return_date", "detail"):
        value = data.get(key)
        if value:
            text = str(value).replace("\n", " ")
            return text[:60] + ("…" if len(text) > 60 else "")
    return ""
