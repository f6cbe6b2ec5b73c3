"""`./dev bench detect [p2] [p3] [--messages N] [--mailboxes N] [--replies N] [--smoke]`."""

from __future__ import annotations

import argparse

PARTS = ("p2", "p3")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench detect")
    # Checked below, not with `choices`: argparse (3.11) checks an empty nargs="*" list, or a
    # default list, against `choices` as one value and refuses the bare command.
    parser.add_argument("parts", nargs="*", metavar="{p2,p3}", help="default: both")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--mailboxes", type=int, default=1_000)
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round (CI)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part {unknown[0]!r} (choose from {', '.join(PARTS)})")
    parts = args.parts or list(PARTS)
    if args.smoke:
        args.messages, args.mailboxes, args.replies = 60, 3, 2
    if "p2" in parts:
        from benchmarks.detect.p2 import run

        run(args.messages, rounds=1 if args.smoke else 3)
    if "p3" in parts:
        from benchmarks.detect.p3 import run as run_p3

        run_p3(args.mailboxes, replies=args.replies)
    return 0
