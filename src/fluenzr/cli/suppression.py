"""`fluenzr suppression list|add|remove`: addresses never to send to."""

from __future__ import annotations

from typing import Annotated

import typer

from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add the `suppression` group to the root app."""
    suppression = typer.Typer(help="Suppression list.", no_args_is_help=True)
    suppression.command("list")(cmd_suppression_list)
    suppression.command("add")(cmd_suppression_add)
    suppression.command("remove")(cmd_suppression_remove)
    app.add_typer(suppression, name="suppression")


def cmd_suppression_list(
    reason: Annotated[str | None, typer.Option(help="bounce | unsubscribe | manual")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List suppressed addresses."""
    # lazy: the services pull in SQLAlchemy; other commands never pay for them
    from fluenzr.i18n import translate
    from fluenzr.services import suppression as suppression_svc

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
    # lazy: see cmd_suppression_list
    from fluenzr.i18n import translate
    from fluenzr.services import suppression as suppression_svc

    with handled(as_json=as_json):
        view = suppression_svc.add_suppression(
            STATE.app(), workspace_id=STATE.workspace_id(), email=email, reason=reason
        )
    if as_json:
        print_json({"ok": True, **view.model_dump(mode="json")})
    else:
        console().print(translate("detect.suppression_added", email=view.email), highlight=False)


def cmd_suppression_remove(
    email: Annotated[str, typer.Argument(help="Address to allow again.")],
    as_json: JsonOpt = False,
) -> None:
    """Remove an address from the suppression list."""
    # lazy: see cmd_suppression_list
    from fluenzr.i18n import translate
    from fluenzr.services import suppression as suppression_svc

    with handled(as_json=as_json):
        suppression_svc.remove_suppression(
            STATE.app(), workspace_id=STATE.workspace_id(), email=email
        )
    if as_json:
        print_json({"ok": True, "email": email.strip().lower()})
    else:
        console().print(translate("detect.suppression_removed", email=email), highlight=False)
