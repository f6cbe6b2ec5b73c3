"""`--json` output: orjson writes what ``json.dumps(ensure_ascii=False, indent=2)`` wrote."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from fluenzr.cli.output import print_json

CASES: list[Any] = [
    {"accounts": [], "total": 0, "page": 1, "per_page": 50},
    {"email": "ana@dominio.es", "name": "Ána “Ñ” \u2028", "ctl": '\x01\t\n"\\/', "ok": True},
    [{"id": 1, "tags": ["lote-1"], "score": 87.5, "last": None, "nested": [{}, []]}],
    {"when": datetime(2026, 12, 2, 9, 30, 1, 250, tzinfo=UTC), "day": date(2026, 12, 2)},
    {"naive": datetime(2026, 12, 2, 9, 30)},
    "text",
    5,
]


def _stdlib(data: Any) -> str:
    def default(value: Any) -> Any:
        return value.isoformat()

    return json.dumps(data, default=default, ensure_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize("data", CASES)
def test_same_text_as_the_stdlib(data: Any, capsys: pytest.CaptureFixture[str]) -> None:
    print_json(data)
    assert capsys.readouterr().out == _stdlib(data)


def test_what_orjson_refuses_falls_back(capsys: pytest.CaptureFixture[str]) -> None:
    data = {1: "int key", "big": 2**70}
    print_json(data)
    assert capsys.readouterr().out == _stdlib(data)
