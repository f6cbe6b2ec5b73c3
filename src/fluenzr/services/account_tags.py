"""Tags on accounts ("cliente-a", "dominio-2", "warmup"): one vocabulary for web, API and CLI.

A tag is normalised before it is stored or looked up: trimmed, lower-cased, inner blanks turned
into ``-``; what is left must be 1–64 characters of ``a-z 0-9 . _ : -`` starting with a letter or
digit. Anything else is refused with ``tag_invalid`` (never silently changed into another tag).
Adding a tag an account already has, or removing one it lacks, changes nothing.

Core reads and writes (``fluenzr accounts tag`` need not load the ORM).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import NotFoundError, ValidationError
from fluenzr.storage.account_query import (
    AccountFilter,
    account_tags,
    matching_ids,
    owned_ids,
    tags_of,
)

MAX_LENGTH = 64
MAX_ACCOUNTS = 10_000  # one call; a whole fleet, never an unbounded list
_VALID = re.compile(r"[a-z0-9][a-z0-9._:-]{0,63}")
_BLANKS = re.compile(r"\s+")


def normalise(text: str) -> str:
    """``"  Cliente A "`` → ``"cliente-a"``; refuses what would not be a safe tag."""
    tag = _BLANKS.sub("-", text.strip().lower())
    if len(tag) > MAX_LENGTH or not _VALID.fullmatch(tag):
        raise ValidationError(
            ErrorCode.TAG_INVALID, params={"field": "tag", "value": text[:80], "max": MAX_LENGTH}
        )
    return tag


def _accounts(engine: Engine, workspace_id: int, ids: Iterable[int]) -> list[int]:
    wanted = sorted(set(ids))
    if len(wanted) > MAX_ACCOUNTS:
        raise ValidationError(
            ErrorCode.INVALID_INPUT, params={"field": "account_id", "max": MAX_ACCOUNTS}
        )
    found = owned_ids(engine, workspace_id=workspace_id, ids=wanted)
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise NotFoundError(ErrorCode.ACCOUNT_NOT_FOUND, params={"id": missing[0]})
    return found


def add_tag(engine: Engine, *, workspace_id: int, account_ids: Iterable[int], tag: str) -> int:
    """Put ``tag`` on every account of ``account_ids``; returns how many newly got it."""
    chosen = normalise(tag)
    ids = _accounts(engine, workspace_id, account_ids)
    for attempt in (1, 2):
        try:
            with engine.begin() as connection:
                had = set(
                    connection.scalars(
                        select(account_tags.c.account_id).where(
                            account_tags.c.tag == chosen, account_tags.c.account_id.in_(ids)
                        )
                    )
                )
                new = [i for i in ids if i not in had]
                if new:
                    now = datetime.now(UTC)  # a row's creation time, not pacing: no clock seam
                    connection.execute(
                        insert(account_tags),
                        [{"account_id": i, "tag": chosen, "created_at": now} for i in new],
                    )
            return len(new)
        except IntegrityError:  # another request tagged one of them meanwhile: look again
            if attempt == 2:
                raise
    return 0  # pragma: no cover - the loop returns or raises


def remove_tag(engine: Engine, *, workspace_id: int, account_ids: Iterable[int], tag: str) -> int:
    """Take ``tag`` off every account of ``account_ids``; returns how many had it."""
    chosen = normalise(tag)
    ids = _accounts(engine, workspace_id, account_ids)
    if not ids:
        return 0
    with engine.begin() as connection:
        result = connection.execute(
            delete(account_tags).where(
                account_tags.c.tag == chosen, account_tags.c.account_id.in_(ids)
            )
        )
    return int(result.rowcount or 0)


def tags_of_accounts(
    engine: Engine, *, workspace_id: int, account_ids: Sequence[int]
) -> dict[int, list[str]]:
    """Each of this workspace's ``account_ids`` → its tags, sorted (others are left out)."""
    ids = owned_ids(engine, workspace_id=workspace_id, ids=account_ids)
    with engine.connect() as connection:
        return tags_of(connection, ids)


def accounts_with_tag(engine: Engine, *, workspace_id: int, tag: str) -> list[int]:
    """The ids of this workspace's accounts that carry ``tag``, by id."""
    return matching_ids(engine, workspace_id=workspace_id, chosen=AccountFilter(tag=normalise(tag)))
