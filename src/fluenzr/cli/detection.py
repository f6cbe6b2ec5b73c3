"""CLI commands of reply detection: classify, events, webhooks, suppression."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE
from fluenzr.detection.message_kinds import Classification, classify_bytes
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.i18n import translate
from fluenzr.services import events_query
from fluenzr.services import suppression as suppression_svc
from fluenzr.services import webhooks as webhooks_svc

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
MAX_FILE = 50 * 1024 * 1024


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE:
            raise ValidationError(
                ErrorCode.CLASSIFY_FILE_TOO_LARGE, params={"field": "file", "path": str(path)}
            )
        return path.read_bytes()
    except OSError as exc:
        raise ValidationError(
            ErrorCode.CLASSIFY_FILE_UNREADABLE,
            params={"field": "file", "path": str(path)},
            detail=exc.strerror or str(exc),
        ) from None


def _classification_lines(path: Path, result: Classification) -> list[str]:
    kind = translate(f"detect.kind.{result.kind}")
    lines = [f"[bold]{escape(str(path))}[/]: {kind} ({escape(result.rule)})"]
    if result.kind == "bounce":
        failed = ", ".join(result.failed_recipients) or "—"
        lines.append(f"  {translate('detect.failed_recipients')}: {escape(failed)}")
        key = "detect.permanent" if result.permanent else "detect.temporary"
        status = f" {result.status}" if result.status else ""
        lines.append(f"  {translate(key)}{status}")
        if result.diagnostic:
            lines.append(f"  {escape(result.diagnostic)}")
    if result.return_date:
        lines.append(f"  {translate('detect.return_date')}: {result.return_date.isoformat()}")
    if result.unsubscribe:
        lines.append(f"  [yellow]{translate('detect.unsubscribe')}[/]")
    if result.reply_text:
        lines.append(f"  {translate('detect.reply_text')}:")
        lines.extend(f"    {escape(line)}" for line in result.reply_text.splitlines())
    return lines


def cmd_classify(
    files: Annotated[list[Path], typer.Argument(help=".eml files to classify.")],
    as_json: JsonOpt = False,
) -> None:
    """Classify saved messages (bounce, auto_reply, reply, other) — no account or network."""
    with handled(as_json=as_json):
        results = [(path, classify_bytes(_read(path))) for path in files]
    if as_json:
        print_json([{"file": str(path), **result.to_dict()} for path, result in results])
        return
    for path, result in results:
        for line in _classification_lines(path, result):
            console.print(line, highlight=False, markup=True)


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


def cmd_webhooks_add(
    url: Annotated[str, typer.Argument(help="http:// or https:// URL receiving POSTs.")],
    events: Annotated[
        list[str] | None,
        typer.Option("--events", help="Event types to send (comma-separated); default all."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a webhook; prints its signing secret once."""
    with handled(as_json=as_json):
        created = webhooks_svc.create_webhook(
            STATE.app(), workspace_id=STATE.workspace_id(), url=url, events=events
        )
    if as_json:
        print_json({"ok": True, **created.model_dump(mode="json")})
        return
    hook = created.webhook
    console.print(translate("detect.webhook_added", id=hook.id, url=hook.url), highlight=False)
    console.print(f"{translate('detect.webhook_secret')}: {created.secret}", highlight=False)
    console.print(translate("detect.webhook_secret_once"))


def cmd_webhooks_list(as_json: JsonOpt = False) -> None:
    """List webhooks."""
    with handled(as_json=as_json):
        views = webhooks_svc.list_webhooks(STATE.app(), workspace_id=STATE.workspace_id())
    if as_json:
        print_json([v.model_dump(mode="json") for v in views])
        return
    rows = [(v.id, v.url, ",".join(v.events) or "*", "✓" if v.active else "✗") for v in views]
    table(translate("detect.webhooks_title"), ["id", "URL", "events", ""], rows)


def cmd_webhooks_remove(
    webhook_id: Annotated[int, typer.Argument(help="Webhook id.")], as_json: JsonOpt = False
) -> None:
    """Remove a webhook (and its delivery log)."""
    with handled(as_json=as_json):
        webhooks_svc.remove_webhook(
            STATE.app(), workspace_id=STATE.workspace_id(), webhook_id=webhook_id
        )
    if as_json:
        print_json({"ok": True, "id": webhook_id})
    else:
        console.print(translate("detect.webhook_removed", id=webhook_id))


def cmd_webhooks_deliveries(
    webhook_id: Annotated[int, typer.Argument(help="Webhook id.")], as_json: JsonOpt = False
) -> None:
    """Show a webhook's delivery log (newest first)."""
    with handled(as_json=as_json):
        views = webhooks_svc.list_deliveries(
            STATE.app(), workspace_id=STATE.workspace_id(), webhook_id=webhook_id
        )
    if as_json:
        print_json([v.model_dump(mode="json") for v in views])
        return
    rows = [(v.id, v.event_id, v.status, v.attempts, v.response_code, v.error) for v in views]
    table(None, ["id", "event", "status", "attempts", "HTTP", "error"], rows)


def cmd_suppression_list(
    reason: Annotated[str | None, typer.Option(help="bounce | unsubscribe | manual")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List suppressed addresses."""
    with handled(as_json=as_json):
        views = suppression_svc.list_suppressions(
            STATE.app(), workspace_id=STATE.workspace_id(), reason=reason
        )
    if as_json:
        print_json([v.model_dump(mode="json") for v in views])
        return
    rows = [(v.email, v.reason, v.detail, v.created_at.strftime("%Y-%m-%d")) for v in views]
    table(translate("detect.suppression_title"), ["email", "reason", "detail", "UTC"], rows)


def cmd_suppression_add(
    email: Annotated[str, typer.Argument(help="Address never to send to.")],
    reason: Annotated[str, typer.Option(help="manual | unsubscribe | bounce | complaint")] = (
        "manual"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Add an address to the suppression list."""
    with handled(as_json=as_json):
        view = suppression_svc.add_suppression(
            STATE.app(), workspace_id=STATE.workspace_id(), email=email, reason=reason
        )
    if as_json:
        print_json({"ok": True, **view.model_dump(mode="json")})
    else:
        console.print(translate("detect.suppression_added", email=view.email), highlight=False)


def cmd_suppression_remove(
    email: Annotated[str, typer.Argument(help="Address to allow again.")],
    as_json: JsonOpt = False,
) -> None:
    """Remove an address from the suppression list."""
    with handled(as_json=as_json):
        suppression_svc.remove_suppression(
            STATE.app(), workspace_id=STATE.workspace_id(), email=email
        )
    if as_json:
        print_json({"ok": True, "email": email.strip().lower()})
    else:
        console.print(translate("detect.suppression_removed", email=email), highlight=False)


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add this area's commands to the root app and the `accounts` group."""
    app.command("classify")(cmd_classify)
    app.command("events")(cmd_events)
    webhooks = typer.Typer(help="Webhooks: signed POSTs of events.", no_args_is_help=True)
    webhooks.command("add")(cmd_webhooks_add)
    webhooks.command("list")(cmd_webhooks_list)
    webhooks.command("remove")(cmd_webhooks_remove)
    webhooks.command("deliveries")(cmd_webhooks_deliveries)
    app.add_typer(webhooks, name="webhooks")
    suppression = typer.Typer(help="Suppression list.", no_args_is_help=True)
    suppression.command("list")(cmd_suppression_list)
    suppression.command("add")(cmd_suppression_add)
    suppression.command("remove")(cmd_suppression_remove)
    app.add_typer(suppression, name="suppression")
