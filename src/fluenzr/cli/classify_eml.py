"""`fluenzr classify FILE…`: what a saved message is (bounce, auto-reply, reply) — offline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fluenzr.cli.output import console, handled, print_json
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError

if TYPE_CHECKING:
    from fluenzr.detection.message_kinds import Classification

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
MAX_FILE = 50 * 1024 * 1024


def register(app: typer.Typer, *, accounts: typer.Typer) -> None:
    """Add `classify` to the root app."""
    app.command("classify")(cmd_classify)


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
        ) from exc


def _classification_lines(path: Path, result: Classification) -> list[str]:
    # lazy: Rich markup and the catalogues, only for text output
    from rich.markup import escape

    from fluenzr.i18n import translate

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
    if result.complainant:
        lines.append(f"  {translate('detect.complainant')}: {escape(result.complainant)}")
    if result.intent and result.intent != "unknown":
        phrase = f" — “{escape(result.intent_phrase)}”" if result.intent_phrase else ""
        referred = f" → {escape(result.referred)}" if result.referred else ""
        lines.append(f"  {translate('web.intent.' + result.intent)}{phrase}{referred}")
    if result.reply_text:
        lines.append(f"  {translate('detect.reply_text')}:")
        lines.extend(f"    {escape(line)}" for line in result.reply_text.splitlines())
    return lines


def cmd_classify(
    files: Annotated[list[Path], typer.Argument(help=".eml files to classify.")],
    as_json: JsonOpt = False,
) -> None:
    """Classify saved messages (bounce, auto_reply, reply, other) — no account or network."""
    from fluenzr.detection.message_kinds import classify_bytes  # lazy: the detection domain

    with handled(as_json=as_json):
        results = [(path, classify_bytes(_read(path))) for path in files]
    if as_json:
        print_json([{"file": str(path), **result.to_dict()} for path, result in results])
        return
    for path, result in results:
        for line in _classification_lines(path, result):
            console().print(line, highlight=False, markup=True)
