"""Reading `fluenzr send --from-jsonl FILE`: one JSON object per line, the fields of `send`.

Pure parsing (no database): each line becomes the same :class:`SendRequest` a single
``fluenzr send`` builds, or an error tied to its line number. The file is hostile input: its size
and line count are bounded, and a line that is not a flat JSON object is an error of that line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluenzr.cli.parsing import parse_datetime, parse_headers, read_text
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import FluenzrError, ValidationError
from fluenzr.services.outbox_queue import SendRequest

MAX_BYTES = 64 * 1024 * 1024
MAX_LINES = 100_000


def _strings(value: Any) -> bool:
    """A string, or a list of strings (`--to` and friends are repeatable options)."""
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


_LIMITS = {"field": "from_jsonl", "max_bytes": MAX_BYTES, "max_lines": MAX_LINES}
_STRINGS = "string | [string]"
# field -> (JSON type a user is told to write, check); names of `send`'s options.
_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "account": ("integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "to": (_STRINGS, _strings),
    "cc": (_STRINGS, _strings),
    "subject": ("string", lambda v: isinstance(v, str)),
    "text": ("string", lambda v: isinstance(v, str)),
    "text_file": ("string", lambda v: isinstance(v, str)),
    "html_file": ("string", lambda v: isinstance(v, str)),
    "reply_to": ("string", lambda v: isinstance(v, str)),
    "in_reply_to": ("string", lambda v: isinstance(v, str)),
    "header": (_STRINGS, _strings),
    "unsubscribe": (_STRINGS, _strings),
    "one_click": ("boolean", lambda v: isinstance(v, bool)),
    "not_before": ("string", lambda v: isinstance(v, str)),
    "stop_on_reply": ("boolean", lambda v: isinstance(v, bool)),
}
_REQUIRED = ("account", "to", "subject")


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, as an editor shows it
    request: SendRequest


@dataclass(frozen=True)
class LineError:
    number: int
    error: FluenzrError


def body_text(text: str | None, text_file: Path | None) -> str:
    """Exactly one of ``--text`` / ``--text-file``."""
    if text is not None and text_file is None:
        return text
    if text is None and text_file is not None:
        return read_text(text_file, field="text_file")
    raise ValidationError(ErrorCode.TEXT_CHOICE, params={"field": "text"})


def build_request(
    *,
    account: int,
    to: list[str],
    subject: str,
    text: str | None = None,
    text_file: Path | None = None,
    html_file: Path | None = None,
    cc: list[str] | None = None,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    header: list[str] | None = None,
    unsubscribe: list[str] | None = None,
    one_click: bool = False,
    not_before: str | None = None,
    stop_on_reply: bool = False,
) -> SendRequest:
    """The request of one `fluenzr send`, from options or from one JSONL line."""
    return SendRequest(
        account_id=account,
        to=to,
        cc=cc or [],
        subject=subject,
        text=body_text(text, text_file),
        html=read_text(html_file, field="html_file") if html_file else None,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        headers=parse_headers(header or []),
        not_before=parse_datetime(not_before, field="not_before"),
        stop_on_reply=stop_on_reply,
        unsubscribe=unsubscribe or [],
        one_click=one_click,
    )


def _request(raw: bytes) -> SendRequest:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, or nested past the stack
        raise ValidationError(ErrorCode.JSONL_NOT_OBJECT) from exc
    if not isinstance(data, dict):
        raise ValidationError(ErrorCode.JSONL_NOT_OBJECT)
    for key, value in data.items():
        if key not in _FIELDS:
            raise ValidationError(ErrorCode.JSONL_UNKNOWN_FIELD, params={"field": key})
        expected, valid = _FIELDS[key]
        if value is not None and not valid(value):
            raise ValidationError(
                ErrorCode.JSONL_WRONG_TYPE, params={"field": key, "expected": expected}
            )
    for key in _REQUIRED:
        if data.get(key) is None:
            raise ValidationError(ErrorCode.JSONL_MISSING_FIELD, params={"field": key})

    def path(key: str) -> Path | None:
        return Path(data[key]) if data.get(key) else None

    return build_request(
        account=data["account"],
        to=_as_list(data["to"]),
        subject=data["subject"],
        text=data.get("text"),
        text_file=path("text_file"),
        html_file=path("html_file"),
        cc=_as_list(data.get("cc")),
        reply_to=data.get("reply_to"),
        in_reply_to=data.get("in_reply_to"),
        header=_as_list(data.get("header")),
        unsubscribe=_as_list(data.get("unsubscribe")),
        one_click=bool(data.get("one_click")),
        not_before=data.get("not_before"),
        stop_on_reply=bool(data.get("stop_on_reply")),
    )


def read_lines(path: Path) -> tuple[list[Line], list[LineError]]:
    """Every line of the file, parsed: the requests and the errors (blank lines are skipped)."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ValidationError(ErrorCode.JSONL_TOO_LARGE, params=_LIMITS)
        content = path.read_bytes()
    except OSError as exc:
        raise ValidationError(
            ErrorCode.FILE_UNREADABLE,
            params={"field": "from_jsonl", "path": str(path), "reason": exc.strerror or str(exc)},
        ) from exc
    raw_lines = content.split(b"\n")
    if len(raw_lines) > MAX_LINES + 1:  # +1: the empty tail after the last newline
        raise ValidationError(ErrorCode.JSONL_TOO_LARGE, params=_LIMITS)
    lines: list[Line] = []
    errors: list[LineError] = []
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            lines.append(Line(number, _request(raw)))
        except FluenzrError as error:
            errors.append(LineError(number, error))
    return lines, errors
