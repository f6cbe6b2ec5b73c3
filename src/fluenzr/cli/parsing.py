"""Parsers of command-line values shared by several nouns (stdlib only: imported at start-up)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError


def read_text(path: Path, *, field: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            ErrorCode.FILE_UNREADABLE,
            params={"field": field, "path": str(path), "reason": str(exc)},
        ) from exc


def parse_datetime(value: str | None, *, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationError(
            ErrorCode.DATETIME_INVALID, params={"field": field, "value": value}
        ) from exc


def parse_headers(values: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValidationError(
                ErrorCode.HEADER_FORMAT, params={"field": "header", "value": item}
            )
        out.append((name.strip(), value.strip()))
    return out
