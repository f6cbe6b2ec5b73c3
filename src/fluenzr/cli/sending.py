"""CLI commands of the sending area: send, outbox (list, show, cancel), worker, pause/resume."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from fluenzr.cli.output import console, handled, print_json, table
from fluenzr.cli.state import STATE
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.i18n import translate
from fluenzr.services import account_status, outbox
from fluenzr.services.outbox import OutboxView, SendRequest

Opt = typer.Option
JsonOpt = Annotated[bool, Opt("--json", help="Print one JSON document.")]
IdArg = Annotated[int, typer.Argument(help="Id.")]


def _read(path: Path, *, field: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            ErrorCode.FILE_UNREADABLE,
            params={"field": field, "path": str(path), "reason": str(exc)},
        ) from None


def _datetime(value: str | None, *, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            ErrorCode.DATETIME_INVALID, params={"field": field, "value": value}
        ) from None


def _headers(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValidationError(
                ErrorCode.HEADER_FORMAT, params={"field": "header", "value": item}
            )
        out.append((name.strip(), value.strip()))
    return out


def _text(text: str | None, text_file: Path | None) -> str:
    if text is not None and text_file is None:
        return text
    if text is None and text_file is not None:
        return _read(text_file, field="text_file")
    raise ValidationError(ErrorCode.TEXT_CHOICE, params={"field": "text"})


def cmd_send(
    account: Annotated[int, Opt("--account", help="Account id (fluenzr accounts list).")],
    to: Annotated[list[str], Opt("--to", help="Recipient; repeat for several.")],
    subject: Annotated[str, Opt("--subject", help="Subject.")],
    text: Annotated[str | None, Opt("--text", help="Plain-text body.")] = None,
    text_file: Annotated[Path | None, Opt("--text-file", help="Plain-text body file.")] = None,
    html_file: Annotated[Path | None, Opt("--html-file", help="HTML alternative.")] = None,
    cc: Annotated[list[str] | None, Opt("--cc", help="Copy recipient; repeatable.")] = None,
    reply_to: Annotated[str | None, Opt("--reply-to", help="Reply-To address.")] = None,
    in_reply_to: Annotated[
        str | None, Opt("--in-reply-to", help="Message-ID this replies to.")
    ] = None,
    header: Annotated[list[str] | None, Opt("--header", help="Extra header K=V.")] = None,
    unsubscribe: Annotated[
        list[str] | None, Opt("--unsubscribe", help="List-Unsubscribe URI (mailto:/https://).")
    ] = None,
    one_click: Annotated[bool, Opt("--one-click", help="RFC 8058 one-click unsubscribe.")] = False,
    not_before: Annotated[
        str | None, Opt("--not-before", help="ISO 8601; no offset = the account's time zone.")
    ] = None,
    stop_on_reply: Annotated[
        bool, Opt("--stop-on-reply", help="Cancel if the recipient replies first.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Queue a message; the worker sends it within the account's limits."""
    with handled(as_json=as_json):
        request = SendRequest(
            account_id=account,
            to=to,
            cc=cc or [],
            subject=subject,
            text=_text(text, text_file),
            html=_read(html_file, field="html_file") if html_file else None,
            reply_to=reply_to,
            in_reply_to=in_reply_to,
            headers=_headers(header or []),
            not_before=_datetime(not_before, field="not_before"),
            stop_on_reply=stop_on_reply,
            unsubscribe=unsubscribe or [],
            one_click=one_click,
        )
        view = outbox.enqueue(STATE.app(), workspace_id=STATE.workspace_id(), request=request)
        if as_json:
            print_json({"id": view.id, "message_id": view.message_id, "status": view.status})
        else:
            console.print(translate("outbox.queued", id=view.id, message_id=view.message_id))


def _rows(views: list[OutboxView]) -> list[tuple[object, ...]]:
    return [
        (
            v.id,
            v.account_id,
            ", ".join(r.email for r in v.recipients),
            v.subject[:40],
            translate(f"outbox.status.{v.status}"),
            v.reason or "",
            v.attempts,
            (v.sent_at or v.next_attempt_at or v.created_at).isoformat(timespec="seconds"),
        )
        for v in views
    ]


def outbox_main(
    ctx: typer.Context,
    account: Annotated[int | None, Opt("--account", help="Only this account.")] = None,
    status: Annotated[str | None, Opt("--status", help="queued, sent, failed…")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the outbox (newest first)."""
    if ctx.invoked_subcommand is not None:
        return
    with handled(as_json=as_json):
        views = outbox.list_outbox(
            STATE.app(), workspace_id=STATE.workspace_id(), account_id=account, status=status
        )
        if as_json:
            print_json([v.model_dump(mode="json") for v in views])
            return
        columns = ["id", "account", "to", "subject", "status", "reason", "attempts", "when"]
        table(translate("outbox.title"), columns, _rows(views))


def cmd_outbox_show(outbox_id: IdArg, as_json: JsonOpt = False) -> None:
    """Show one message of the outbox."""
    with handled(as_json=as_json):
        view = outbox.get_message(
            STATE.app(), workspace_id=STATE.workspace_id(), outbox_id=outbox_id
        )
        if as_json:
            print_json(view.model_dump(mode="json"))
        else:
            data = view.model_dump(mode="json")
            table(None, ["", ""], [(k, v) for k, v in data.items() if v is not None])


def cmd_outbox_cancel(outbox_id: IdArg, as_json: JsonOpt = False) -> None:
    """Cancel a queued or deferred message."""
    with handled(as_json=as_json):
        view = outbox.cancel(STATE.app(), workspace_id=STATE.workspace_id(), outbox_id=outbox_id)
        if as_json:
            print_json({"id": view.id, "message_id": view.message_id, "status": view.status})
        else:
            console.print(translate("outbox.cancelled", id=view.id))


def cmd_pause(
    account_id: IdArg,
    until: Annotated[str | None, Opt("--until", help="ISO 8601 with offset.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Pause sending from an account (its messages stay queued)."""
    with handled(as_json=as_json):
        view = account_status.pause(
            STATE.app(),
            workspace_id=STATE.workspace_id(),
            account_id=account_id,
            until=_datetime(until, field="until"),
        )
        if as_json:
            print_json(view.model_dump(mode="json"))
        else:
            console.print(translate("accounts.paused", id=view.id))


def cmd_resume(account_id: IdArg, as_json: JsonOpt = False) -> None:
    """Resume sending from a paused account."""
    with handled(as_json=as_json):
        view = account_status.resume(
            STATE.app(), workspace_id=STATE.workspace_id(), account_id=account_id
        )
        if as_json:
            print_json(view.model_dump(mode="json"))
        else:
            console.print(translate("accounts.resumed", id=view.id))


def cmd_pacing(
    account_id: IdArg,
    days: Annotated[
        str | None, Opt("--days", help="Sending days: mon-fri, or 0,1,2 (0 = Monday).")
    ] = None,
    start: Annotated[str | None, Opt("--start", help="Window opens (HH:MM, account time).")] = None,
    end: Annotated[str | None, Opt("--end", help="Window closes (HH:MM, account time).")] = None,
    no_window: Annotated[bool, Opt("--no-window", help="Send at any time.")] = False,
    warmup_start: Annotated[
        int | None, Opt("--warmup-start", help="Warm-up: messages on day one.")
    ] = None,
    warmup_increment: Annotated[
        int | None, Opt("--warmup-increment", help="Warm-up: more each day, up to the cap.")
    ] = None,
    no_warmup: Annotated[bool, Opt("--no-warmup", help="No warm-up ramp.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Sending window and warm-up ramp of an account (caps: accounts edit)."""
    with handled(as_json=as_json):
        window = None
        if days is not None or start is not None or end is not None:
            window = account_status.window_json(days, start, end)
        view = account_status.set_pacing(
            STATE.app(),
            workspace_id=STATE.workspace_id(),
            account_id=account_id,
            window=window,
            clear_window=no_window,
            warmup_start=warmup_start,
            warmup_increment=warmup_increment,
            clear_warmup=no_warmup,
        )
        if as_json:
            print_json(view.model_dump(mode="json"))
        else:
            console.print(translate("accounts.pacing_saved", id=view.id))


def cmd_worker(
    until_idle: Annotated[bool, Opt("--until-idle", help="Exit when nothing is due now.")] = False,
    only: Annotated[str, Opt("--only", help="send | detect | all")] = "all",
) -> None:
    """Run the sending system: send, copy to Sent, detect replies. SIGTERM stops cleanly."""
    from fluenzr.services.runtime import run_worker

    with handled():
        if only not in ("send", "detect", "all"):
            raise ValidationError(ErrorCode.ONLY_INVALID, params={"field": "only", "value": only})
        app = STATE.app()

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await run_worker(app, only=only, until_idle=until_idle, stop=stop)

        asyncio.run(main())


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add this area's commands to the root app and the `accounts` group."""
    app.command("send")(cmd_send)
    app.command("worker")(cmd_worker)
    group = typer.Typer(help="Outbox: list, show, cancel.", invoke_without_command=True)
    group.callback()(outbox_main)
    group.command("show")(cmd_outbox_show)
    group.command("cancel")(cmd_outbox_cancel)
    app.add_typer(group, name="outbox")
    accounts.command("pause")(cmd_pause)
    accounts.command("resume")(cmd_resume)
    accounts.command("pacing")(cmd_pacing)
