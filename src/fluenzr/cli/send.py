"""`fluenzr send`: queue one message, or every line of a JSONL file (`--from-jsonl`).

A JSONL file is validated whole before anything is written (each line parsed, then checked
against the database: account, addresses, MIME, suppression list); any bad line means exit 2,
every bad line named by its number, and nothing queued. Only then are the messages written, one
transaction per chunk of :data:`CHUNK` lines, so a large file never holds one huge transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from fluenzr.cli.output import console, err_console, handled, print_json
from fluenzr.cli.state import STATE
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError

if TYPE_CHECKING:
    from fluenzr.cli.send_jsonl import LineError

Opt = typer.Option
JsonOpt = Annotated[bool, Opt("--json", help="Print one JSON document.")]
CHUNK = 500
MAX_REPORTED = 100  # line errors shown; the count says how many more there are


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add `send` to the root app."""
    app.command("send")(cmd_send)


def cmd_send(
    account: Annotated[
        int | None, Opt("--account", help="Account id (fluenzr accounts list).")
    ] = None,
    to: Annotated[list[str] | None, Opt("--to", help="Recipient; repeat for several.")] = None,
    subject: Annotated[str | None, Opt("--subject", help="Subject.")] = None,
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
    idempotency_key: Annotated[
        str | None,
        Opt("--idempotency-key", help="Retry-safe: the same key queues the message only once."),
    ] = None,
    from_jsonl: Annotated[
        Path | None,
        Opt(
            "--from-jsonl",
            help="Queue every line of this file: one JSON object per line with the fields of "
            "this command (account, to, subject, text…). All lines are checked first; one bad "
            "line and nothing is queued.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Queue a message; the worker sends it within the account's limits."""
    if from_jsonl is not None:
        given = [account, to, subject, text, text_file, html_file, cc, reply_to, in_reply_to]
        given += [header, unsubscribe, not_before, idempotency_key]
        if any(value is not None for value in given) or one_click or stop_on_reply:
            raise typer.BadParameter(
                "takes no per-message option (put the fields in each line)",
                param_hint="'--from-jsonl'",
            )
        _send_file(from_jsonl, as_json=as_json)
        return
    for value, name in ((account, "--account"), (to, "--to"), (subject, "--subject")):
        if value is None:
            raise typer.BadParameter("required (or --from-jsonl FILE)", param_hint=f"'{name}'")
    assert account is not None and to is not None and subject is not None  # checked just above
    # lazy: the services pull in SQLAlchemy (Core: no ORM, no model, no pydantic view) and the
    # MIME builder; `--help` never pays for them
    from fluenzr.cli.send_jsonl import build_request
    from fluenzr.i18n import translate
    from fluenzr.services.outbox_queue import Replayed, queue_once, replayed_summary

    with handled(as_json=as_json):
        request = build_request(
            account=account,
            to=to,
            subject=subject,
            text=text,
            text_file=text_file,
            html_file=html_file,
            cc=cc,
            reply_to=reply_to,
            in_reply_to=in_reply_to,
            header=header,
            unsubscribe=unsubscribe,
            one_click=one_click,
            not_before=not_before,
            stop_on_reply=stop_on_reply,
        )
        ctx, workspace_id = STATE.app(), STATE.workspace_id()
        done = queue_once(
            ctx, workspace_id=workspace_id, request=request, idempotency_key=idempotency_key
        )
        if isinstance(done, Replayed):  # its current status, as the API answers a replay
            shown = replayed_summary(ctx, workspace_id=workspace_id, outbox_id=done.outbox_id)
        else:
            shown = done.summary()
        if as_json:
            print_json(shown)
        else:
            console().print(
                translate("outbox.queued", id=shown["id"], message_id=shown["message_id"])
            )


def _send_file(path: Path, *, as_json: bool) -> None:
    # lazy: see cmd_send
    from fluenzr.cli.send_jsonl import LineError, read_lines
    from fluenzr.i18n import translate
    from fluenzr.services.outbox import check_many, enqueue_many

    with handled(as_json=as_json):
        lines, errors = read_lines(path)
        # The lines that parsed are checked against the database too, so one run names every
        # bad line, whichever stage finds it.
        ctx, workspace_id = STATE.app(), STATE.workspace_id()
        found = check_many(ctx, workspace_id=workspace_id, requests=[x.request for x in lines])
        errors += [LineError(lines[index].number, error) for index, error in found.items()]
        if errors:
            _refuse(path, sorted(errors, key=lambda e: e.number), as_json=as_json)
        queued: list[dict[str, Any]] = []
        for start in range(0, len(lines), CHUNK):
            chunk = lines[start : start + CHUNK]
            requests = [x.request for x in chunk]
            views = enqueue_many(ctx, workspace_id=workspace_id, requests=requests)
            queued += [
                {"line": x.number, "id": v.id, "message_id": v.message_id, "status": v.status}
                for x, v in zip(chunk, views, strict=True)
            ]
    if as_json:
        print_json({"ok": True, "count": len(queued), "messages": queued})
    else:
        console().print(translate("outbox.queued_many", count=len(queued), path=str(path)))


def _refuse(path: Path, errors: list[LineError], *, as_json: bool) -> NoReturn:
    from fluenzr.i18n import translate  # lazy: see cmd_send

    summary = ValidationError(
        ErrorCode.JSONL_INVALID,
        params={"field": "from_jsonl", "path": str(path), "count": len(errors)},
    )
    shown = errors[:MAX_REPORTED]
    if as_json:
        print_json(
            {
                "ok": False,
                "error": summary.to_dict(),
                "lines": [{"line": e.number, "error": e.error.to_dict()} for e in shown],
            }
        )
        raise typer.Exit(summary.exit_code)
    label = translate("cli.line")
    for item in shown:
        line = f"{label} {item.number}: {item.error.render()}"
        err_console().print(line, markup=False, highlight=False)
    raise summary
