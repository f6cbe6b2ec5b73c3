"""What a user asked of the accounts list (URL query, CLI options, API parameters), checked.

One place turns loose text into an :class:`~fluenzr.storage.account_query.AccountFilter` and a
:class:`~fluenzr.storage.account_query.PageRequest`: an unknown status, outcome or sort key, a
page below 1 or too many rows per page is ``invalid_input`` naming the field — never a query
built from the text.
"""

from __future__ import annotations

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.services.account_tags import normalise
from fluenzr.storage.account_query import (
    MAX_PER_PAGE,
    MAX_SEARCH,
    SORTS,
    STATUSES,
    TEST_OUTCOMES,
    AccountFilter,
    PageRequest,
)

MAX_PAGE = 1_000_000


def _choice(value: str, allowed: tuple[str, ...], *, field: str) -> str:
    text = value.strip().lower()
    if text and text not in allowed:
        raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": field, "value": value[:40]})
    return text


def account_filter(
    *,
    search: str = "",
    status: str = "",
    provider: str = "",
    tag: str = "",
    test: str = "",
    reason: str = "",
) -> AccountFilter:
    if len(search) > MAX_SEARCH:
        raise ValidationError(
            ErrorCode.INVALID_INPUT, params={"field": "search", "max": MAX_SEARCH}
        )
    return AccountFilter(
        search=search.strip(),
        status=_choice(status, STATUSES, field="status"),
        provider=provider.strip().lower()[:40],
        tag=normalise(tag) if tag.strip() else "",
        test=_choice(test, TEST_OUTCOMES, field="test"),
        reason=reason.strip().lower()[:64],
    )


def page_request(
    *, page: int = 1, per_page: int = 50, sort: str = "id", descending: bool = False
) -> PageRequest:
    """``per_page=0``: every match at once (the CLI without ``--page``/``--per-page``)."""
    if not 1 <= page <= MAX_PAGE:
        raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "page", "value": page})
    if not 0 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(
            ErrorCode.INVALID_INPUT, params={"field": "per_page", "value": per_page}
        )
    key = sort.strip().lower().removeprefix("-")
    if key not in SORTS:
        raise ValidationError(ErrorCode.INVALID_INPUT, params={"field": "sort", "value": sort[:40]})
    return PageRequest(
        page=page, per_page=per_page, sort=key, descending=descending or sort.startswith("-")
    )
