"""Server-side pages of a list: a bounded page number and size, the total, the rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Generic, TypeVar

from pydantic import BaseModel, computed_field

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError

T = TypeVar("T")
DEFAULT_SIZE = 50
MAX_SIZE = 200
MAX_PAGE = 10_000


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def clamp(page: int | None, per_page: int | None) -> tuple[int, int]:
    """Page 1.. and a size 1..MAX_SIZE: out-of-range values are brought into range."""
    size = min(max(per_page or DEFAULT_SIZE, 1), MAX_SIZE)
    return min(max(page or 1, 1), MAX_PAGE), size


def page_number(text: str) -> int:
    """A page number typed into a URL: digits only, else page 1 (``clamp`` bounds it)."""
    return int(text) if text.isdigit() and len(text) < 6 else 1


def day_bounds(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``since`` and ``until`` as ISO dates (``until`` inclusive), else date-times; UTC."""
    return _parse(since, "since", end=False), _parse(until, "until", end=True)


def _parse(value: str | None, field: str, *, end: bool) -> datetime | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > 40:
        raise ValidationError(ErrorCode.SINCE_INVALID, params={"field": field, "value": text[:40]})
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            ErrorCode.SINCE_INVALID, params={"field": field, "value": text}
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


__all__ = ["DEFAULT_SIZE", "MAX_SIZE", "Page", "clamp", "day_bounds", "page_number"]
