"""Score the classifier against tests/corpus: per-class precision/recall, per-field accuracy.

Shared by `./dev bench classify` and tests/unit/test_classify_corpus.py (which asserts the
targets), so the figures the benchmark prints are the ones CI holds the classifier to.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "corpus"
OURS = frozenset({"ana@fluenzr.test"})
CLASSES = ("bounce", "complaint", "auto_reply", "reply", "other")
# The targets (fractions).
TARGETS = {
    "bounce_recall": 0.98,
    "recipients_exact": 0.97,
    "permanence": 0.97,
    "reply_text": 0.95,
    "intent": 0.90,  # ours: the issue sets none; a wrong label is worse than "unknown"
    "intent_precision": 0.97,
}


def expectations() -> dict[str, dict[str, Any]]:
    """Every expected.toml under the corpus (paths relative to the corpus root), merged."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(CORPUS.rglob("expected.toml")):
        out.update(tomllib.loads(path.read_text(encoding="utf-8")))
    return out


@dataclass
class Predicted:
    kind: str
    failed: list[str] | None = None
    permanent: bool | None = None
    text: str = ""
    intent: str | None = None
    referred: str | None = None


@dataclass
class Report:
    total: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    fields: dict[str, list[int]] = field(default_factory=dict)  # name -> [right, total]
    misses: list[str] = field(default_factory=list)

    def count(self, name: str, ok: bool, sample: str) -> None:
        right_total = self.fields.setdefault(name, [0, 0])
        right_total[0] += int(ok)
        right_total[1] += 1
        if not ok:
            self.misses.append(f"{name}: {sample}")

    def precision(self, kind: str) -> float | None:
        predicted = sum(n for (_, got), n in self.confusion.items() if got == kind)
        return self.confusion[(kind, kind)] / predicted if predicted else None

    def recall(self, kind: str) -> float | None:
        actual = sum(n for (want, _), n in self.confusion.items() if want == kind)
        return self.confusion[(kind, kind)] / actual if actual else None

    def support(self, kind: str) -> int:
        return sum(n for (want, _), n in self.confusion.items() if want == kind)

    def field(self, name: str) -> float | None:
        right, total = self.fields.get(name, [0, 0])
        return right / total if total else None

    def replies_as_bounce(self) -> int:
        return self.confusion[("reply", "bounce")]


def score(predict: Callable[[bytes], Predicted], *, only: str | None = None) -> Report:
    report = Report()
    for name, want in expectations().items():
        if only and not name.startswith(only):
            continue
        got = predict((CORPUS / name).read_bytes())
        report.total += 1
        report.confusion[(want["kind"], got.kind)] += 1
        if want["kind"] != got.kind:
            report.misses.append(f"kind {want['kind']} -> {got.kind}: {name}")
        if want["kind"] == "bounce":
            if "failed" in want:
                report.count("recipients_exact", got.failed == want["failed"], name)
            if "permanent" in want:
                report.count("permanence", got.permanent is want["permanent"], name)
        if "text_has" in want or "text_lacks" in want:
            ok = all(w in got.text for w in want.get("text_has", [])) and not any(
                w in got.text for w in want.get("text_lacks", [])
            )
            report.count("reply_text", ok, name)
        if "intent" in want:
            right = got.intent == want["intent"] and got.referred == want.get("referred")
            report.count("intent", right, name)
            if got.intent not in (None, "unknown"):
                report.count("intent_precision", right, name)
    return report
