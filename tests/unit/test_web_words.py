"""Web errors speak web: no CLI command or flag in any message or hint the UI shows."""

from __future__ import annotations

import pytest

from fluenzr.error_codes import ErrorCode
from fluenzr.i18n import LANGUAGES
from fluenzr.web.render import CLI_WORDS, error_text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_cli_words_in_web_errors(lang: str) -> None:
    params = {
        "expected": "SSL",
        "port": 465,
        "choices": "gmail, zoho-eu",
        "email": "ana@example.com",
        "key_id": "abc",
        "setting": "x",
        "limit_kb": 1024,
        "value": "v",
        "host": "h",
    }
    for code in ErrorCode:
        shown = error_text({"code": code.value, "params": params}, lang)
        assert not CLI_WORDS.search(shown["message"]), (code, shown["message"])
        assert not CLI_WORDS.search(shown["hint"]), (code, shown["hint"])


def test_web_wording_names_the_control() -> None:
    shown = error_text(
        {"code": "security_port_mismatch", "params": {"expected": "SSL", "port": 465}}, "es"
    )
    assert "--force" not in shown["hint"] and "Aceptar una combinación" in shown["hint"]
    duplicate = error_text({"code": "account_duplicate"}, "en")
    assert "fluenzr accounts edit" not in duplicate["hint"] and "Edit" in duplicate["hint"]
