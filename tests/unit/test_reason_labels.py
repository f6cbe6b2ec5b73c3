"""A stored reason code's short label comes from the code's own catalogue entry (no second
``web.reason.*`` vocabulary)."""

from __future__ import annotations

import pytest

from fluenzr.web.render import reason_label


@pytest.mark.parametrize(
    ("stored", "lang", "label"),
    [
        ("manual", "es", "pausada manualmente"),  # error.manual.label
        ("credentials_need_rebind", "en", "Password not bound to its server yet"),
        ("sending_limit", "es", "Límite de envío alcanzado"),  # no label: the category heading
        ("imap_auth_failed", "en", "authentication failed"),  # a retired IMAP copy
        # unknown: words, never the code (the code is under "détail technique")
        ("no_such_code", "fr", "motif non décrit (voir le détail technique)"),
    ],
)
def test_reason_label(stored: str, lang: str, label: str) -> None:
    assert reason_label(stored, lang) == label
