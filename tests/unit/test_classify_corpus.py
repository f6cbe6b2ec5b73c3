"""Every message of tests/corpus is classified as tests/corpus/expected.toml says."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from fluenzr.detection.message_kinds import classify_bytes

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "expected.toml").read_text())
OURS = frozenset({"ana@fluenzr.test"})


def test_every_corpus_file_has_an_expectation() -> None:
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.eml")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message(name: str) -> None:
    expected = EXPECTED[name]
    result = classify_bytes((CORPUS / name).read_bytes(), own_addresses=OURS)
    assert result.kind == expected["kind"], result.rule
    if "failed" in expected:
        assert list(result.failed_recipients) == expected["failed"]
    if "permanent" in expected:
        assert result.permanent is expected["permanent"]
    if "status" in expected:
        assert result.status == expected["status"]
    if "original" in expected:
        assert result.original_message_id == expected["original"]
    if "return_date" in expected:
        assert result.return_date is not None
        assert result.return_date.isoformat() == expected["return_date"]
    text = result.reply_text or ""
    for wanted in expected.get("text_has", []):
        assert wanted in text
    for unwanted in expected.get("text_lacks", []):
        assert unwanted not in text
    if "unsubscribe" in expected:
        assert result.unsubscribe is expected["unsubscribe"]
    if result.kind != "bounce":
        assert result.failed_recipients == ()
        assert result.permanent is None
