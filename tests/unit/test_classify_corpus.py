"""Every message of tests/corpus is classified as its expected.toml says (tests/corpus/
expected.toml for the hand-written samples, mta/ and clients/ for the generated corpora), and
the corpus as a whole meets the accuracy targets `./dev bench classify` prints."""

from __future__ import annotations

from typing import Any

import pytest
from benchmarks.classify.__main__ import ours
from benchmarks.classify.score import CORPUS, OURS, TARGETS, expectations, score

from fluenzr.detection.message_kinds import classify_bytes

EXPECTED: dict[str, dict[str, Any]] = expectations()


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
    if "complainant" in expected:
        assert (result.complainant or "") == expected["complainant"]
    if "in_reply_to" in expected:
        assert expected["in_reply_to"] in result.in_reply_to
    if "intent" in expected:
        assert (result.intent, result.referred) == (expected["intent"], expected.get("referred"))
    if "unsubscribe" in expected:
        assert result.unsubscribe is expected["unsubscribe"]
    if result.kind != "complaint":
        assert result.complainant is None
    if result.kind != "bounce":
        assert result.failed_recipients == ()
        assert result.permanent is None


def test_corpus_sizes_are_what_the_issue_asks() -> None:
    mta = {n: e for n, e in EXPECTED.items() if n.startswith("mta/")}
    assert len(mta) >= 150
    assert len({e["shape"] for e in mta.values()}) >= 25
    assert all(e.get("source") for e in mta.values())


def test_accuracy_targets() -> None:
    report = score(ours)
    assert report.replies_as_bounce() == 0
    assert (report.recall("bounce") or 0) >= TARGETS["bounce_recall"]
    for name in ("recipients_exact", "permanence", "reply_text", "intent", "intent_precision"):
        assert (report.field(name) or 0) >= TARGETS[name], name
