"""Idempotency key rules without a database: the header's spelling and the request fingerprint."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from fluenzr.errors import ValidationError
from fluenzr.services.idempotency import MAX_KEY_LENGTH, fingerprint, normalise_key
from fluenzr.services.outbox import SendRequest


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("abc-123", "abc-123"),
        ('"abc-123"', "abc-123"),  # RFC 9651 sf-string, as the draft spells it
        ('  "abc-123"\t', "abc-123"),  # optional whitespace around the field value
        (r'"a\"b\\c"', 'a"b\\c'),  # the two escapes an sf-string has
        ("order 4711", "order 4711"),
        ("~" * MAX_KEY_LENGTH, "~" * MAX_KEY_LENGTH),
    ],
)
def test_accepted_spellings(raw: str, key: str) -> None:
    assert normalise_key(raw) == key


@pytest.mark.parametrize(
    "raw",
    ["", '""', "x" * (MAX_KEY_LENGTH + 1), r'"a\nb"', '"a"b"', '"abc', "ключ", "a\x00b", "\x7f"],
)
def test_refused_spellings(raw: str) -> None:
    with pytest.raises(ValidationError) as refused:
        normalise_key(raw)
    assert refused.value.code == "idempotency_key_invalid"


def test_a_huge_header_is_refused_without_parsing_it() -> None:
    with pytest.raises(ValidationError):
        normalise_key('"' + "\\" * 1_000_000 + '"')


def _request(**changes: object) -> SendRequest:
    base = SendRequest(account_id=1, to=["bob@example.org"], subject="Hola", text="Hola")
    return replace(base, **changes)  # type: ignore[arg-type]


def test_fingerprint_ignores_spelling_and_sees_every_value() -> None:
    same = fingerprint(_request())
    assert fingerprint(_request(to=("bob@example.org",), cc=[])) == same
    assert len(same) == 64
    changed = [
        _request(account_id=2),
        _request(to=["carol@example.org"]),
        _request(subject="Hola!"),
        _request(text="Hola "),
        _request(html="<p>Hola</p>"),
        _request(headers=[("X-Campaign", "7")]),
        _request(not_before=datetime(2027, 1, 1, 9, tzinfo=UTC)),
        _request(stop_on_reply=True),
        _request(one_click=True),
    ]
    prints = {fingerprint(r) for r in changed}
    assert same not in prints and len(prints) == len(changed)
