"""How every command prints: Rich for people, one JSON document for machines, stable exits.

Exit codes: 0 success, 1 failed operation, 2 bad input or configuration.

Rich and the catalogues are imported on first use, not with this module: every
command imports it, and ``fluenzr --help`` or a ``--json`` command never needs a Rich console.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from fluenzr.errors import FluenzrError

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def console() -> Console:
    from rich.console import Console  # lazy: ~0.1 s of start-up that JSON output never needs

    # Piped output (scripts, CI logs) is not cut at 80 columns.
    return Console(width=None if sys.stdout.isatty() else 200)


@functools.cache
def err_console() -> Console:
    from rich.console import Console  # lazy: see console()

    return Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    """Two-space indented JSON, UTF-8, dates as ``isoformat()``: the stdlib's
    ``json.dumps(..., ensure_ascii=False, indent=2)`` bytes, written by orjson's C encoder (the
    stdlib drops to pure Python when indenting). What orjson refuses (non-string keys, integers
    beyond 64 bits) goes through the stdlib unchanged."""
    import orjson  # lazy: only --json pays for it

    options = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_APPEND_NEWLINE
    try:
        encoded = orjson.dumps(data, default=_default, option=options)
    except TypeError:
        text = json.dumps(data, default=_default, ensure_ascii=False, indent=2) + "\n"
        encoded = text.encode()
    sys.stdout.write(encoded.decode())
    sys.stdout.flush()


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.table import Table  # lazy: see console()

    out = Table(title=title)
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*("" if cell is None else str(cell) for cell in row))
    console().print(out)


def fail(error: FluenzrError, *, as_json: bool) -> NoReturn:
    from fluenzr.i18n import translate  # lazy: the catalogues load only when text is shown

    if as_json:
        print_json({"ok": False, "error": error.to_dict()})
    else:
        err_console().print(f"[bold red]{translate('cli.error')}:[/] {error.render()}")
        hint = error.hint()
        if hint and hint != error.hint_key:
            err_console().print(f"[yellow]{translate('cli.hint')}:[/] {hint}")
    raise typer.Exit(error.exit_code)


@contextmanager
def handled(*, as_json: bool = False) -> Iterator[None]:
    """Turn project errors into a clear message and the right exit code; never a traceback."""
    try:
        yield
    except FluenzrError as error:
        fail(error, as_json=as_json)


def run_command(func: Callable[[], Any], *, as_json: bool) -> Any:
    with handled(as_json=as_json):
        return func()
