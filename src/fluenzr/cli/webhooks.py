"""`fluenzr webhooks add|list|remove|deliveries`: signed POSTs of events."""

from __future__ import annotations

from typing import Annotated

import typer

from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add the `webhooks` group to the root app."""
    webhooks = typer.Typer(help="Webhooks: signed POSTs of events.", no_args_is_help=True)
    webhooks.command("add")(cmd_webhooks_add)
    webhooks.command("list")(cmd_webhooks_list)
    webhooks.command("remove")(cmd_webhooks_remove)
    webhooks.command("deliveries")(cmd_webhooks_deliveries)
    app.add_typer(webhooks, name="webhooks")


def cmd_webhooks_add(
    url: Annotated[str, typer.Argument(help="http:// or https:// URL receiving POSTs.")],
    events: Annotated[
        list[str] | None,
        typer.Option("--events", help="Event types to send (comma-separated); default all."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a webhook; prints its signing secret once."""
    # lazy: the services pull in SQLAlchemy; other commands never pay for them
    from fluenzr.i18n import translate
    from fluenzr.services import webhooks as webhooks_svc

    with handled(as_json=as_json):
        created = webhooks_svc.create_webhook(
            STATE.app(), workspace_id=STATE.workspace_id(), url=url, events=events
        )
    if as_json:
        print_json({"ok": True, **created.model_dump(mode="json")})
        return
    hook = created.webhook
    out = console()
    out.print(translate("detect.webhook_added", id=hook.id, url=hook.url), highlight=False)
    out.print(f"{translate('detect.webhook_secret')}: {created.secret}", highlight=False)
    out.print(translate("detect.webhook_secret_once"))


def cmd_webhooks_list(as_json: JsonOpt = False) -> None:
    """List webhooks."""
    # lazy: see cmd_webhooks_add
    from fluenzr.i18n import translate
    from fluenzr.services import webhooks as webhooks_svc

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
    # lazy: see cmd_webhooks_add
    from fluenzr.i18n import translate
    from fluenzr.services import webhooks as webhooks_svc

    with handled(as_json=as_json):
        webhooks_svc.remove_webhook(
            STATE.app(), workspace_id=STATE.workspace_id(), webhook_id=webhook_id
        )
    if as_json:
        print_json({"ok": True, "id": webhook_id})
    else:
        console().print(translate("detect.webhook_removed", id=webhook_id))


def cmd_webhooks_deliveries(
    webhook_id: Annotated[int, typer.Argument(help="Webhook id.")], as_json: JsonOpt = False
) -> None:
    """Show a webhook's delivery log (newest first)."""
    from fluenzr.services import webhooks as webhooks_svc  # lazy: see cmd_webhooks_add

    with handled(as_json=as_json):
        views = webhooks_svc.list_deliveries(
            STATE.app(), workspace_id=STATE.workspace_id(), webhook_id=webhook_id
        )
    if as_json:
        print_json([v.model_dump(mode="json") for v in views])
        return
    rows = [(v.id, v.event_id, v.status, v.attempts, v.response_code, v.error) for v in views]
    table(None, ["id", "event", "status", "attempts", "HTTP", "error"], rows)
