"""`./dev bench classify [--smoke] [--misses]`: classifier accuracy on tests/corpus.

Prints per-class precision/recall and per-field accuracy (failed recipients exact, permanence,
reply text without the quote) beside the issue's targets, and — measured in the same run — the
reference: GNU Mailman's bounce detector (flufl.bounce) alone, on the same bounces.
"""

from __future__ import annotations

import argparse
import time
from email import message_from_bytes, policy

from benchmarks.classify.score import CLASSES, OURS, TARGETS, Predicted, Report, score


def ours(raw: bytes) -> Predicted:
    from fluenzr.detection.message_kinds import classify_bytes

    result = classify_bytes(raw, own_addresses=OURS)
    return Predicted(
        kind=result.kind,
        failed=list(result.failed_recipients),
        permanent=result.permanent,
        text=result.reply_text or "",
        intent=result.intent,
        referred=result.referred,
    )


def flufl_only(raw: bytes) -> Predicted:
    from flufl.bounce import all_failures

    temporary, permanent = all_failures(message_from_bytes(raw, policy=policy.compat32))
    found = sorted(a.decode("ascii", "replace").lower() for a in (*permanent, *temporary))
    if not found:
        return Predicted(kind="other")
    return Predicted(kind="bounce", failed=found, permanent=bool(permanent))


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def print_report(title: str, report: Report, *, elapsed: float) -> None:
    each = 1000 * elapsed / max(1, report.total)
    print(f"\n{title}: {report.total} samples, {each:.2f} ms CPU each")
    print(f"  {'class':<11} {'support':>7} {'precision':>9} {'recall':>7}")
    for kind in CLASSES:
        n = report.support(kind)
        if n or report.precision(kind) is not None:
            precision, recall = _pct(report.precision(kind)), _pct(report.recall(kind))
            print(f"  {kind:<11} {n:>7} {precision:>9} {recall:>7}")
    print(f"  human replies classed as bounce: {report.replies_as_bounce()} (target 0)")
    for name in ("recipients_exact", "permanence", "reply_text", "intent", "intent_precision"):
        right, total = report.fields.get(name, [0, 0])
        value, target = _pct(report.field(name)), 100 * TARGETS[name]
        print(f"  {name:<17} {value} ({right}/{total})  target ≥ {target:.0f}%")
    recall, target = _pct(report.recall("bounce")), 100 * TARGETS["bounce_recall"]
    print(f"  bounce recall     {recall}  target ≥ {target:.0f}%")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench classify")
    parser.add_argument("--smoke", action="store_true", help="the MTA bounces only (CI)")
    parser.add_argument("--misses", action="store_true", help="list every wrong sample")
    args = parser.parse_args(argv)
    only = "mta/" if args.smoke else None
    started = time.process_time()
    mine = score(ours, only=only)
    print_report("FluenzR classifier", mine, elapsed=time.process_time() - started)
    started = time.process_time()
    reference = score(flufl_only, only="mta/")
    print_report(
        "reference: flufl.bounce alone (bounces)", reference, elapsed=time.process_time() - started
    )
    if args.misses:
        print("\nmisses:")
        for miss in mine.misses:
            print(f"  {miss}")
    return 0
