"""Tags and list options are checked before any query is built."""

from __future__ import annotations

import pytest

from fluenzr.errors import ValidationError
from fluenzr.services.account_filters import account_filter, page_request
from fluenzr.services.account_tags import normalise


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Cliente A ", "cliente-a"),
        ("LOTE_2", "lote_2"),
        ("es:madrid", "es:madrid"),
        ("x" * 64, "x" * 64),
    ],
)
def test_a_tag_is_normalised(typed: str, stored: str) -> None:
    assert normalise(typed) == stored


@pytest.mark.parametrize("typed", ["", "   ", "x" * 65, "-lead", "<script>", "ñandú", "a/b", "a%"])
def test_an_unsafe_tag_is_refused(typed: str) -> None:
    with pytest.raises(ValidationError) as refused:
        normalise(typed)
    assert refused.value.code == "tag_invalid"


def test_filter_values_are_checked() -> None:
    chosen = account_filter(search=" ana ", status="Paused", tag="Lote A", test="never")
    assert (chosen.search, chosen.status, chosen.tag, chosen.test) == (
        "ana",
        "paused",
        "lote-a",
        "never",
    )
    for bad in ({"status": "deleted"}, {"test": "maybe"}, {"search": "x" * 201}):
        with pytest.raises(ValidationError):
            account_filter(**bad)


def test_paging_and_sort_are_whitelisted() -> None:
    assert page_request(sort="-email").descending and page_request(sort="-email").sort == "email"
    for bad in (
        {"page": 0},
        {"per_page": 501},
        {"sort": "smtp_password_sealed"},
        {"sort": "id; drop"},
    ):
        with pytest.raises(ValidationError) as refused:
            page_request(**bad)  # type: ignore[arg-type]
        assert refused.value.code == "invalid_input"
