"""`./dev bench detect [p2] [p3] [--messages N] [--mailboxes N]`."""

from __future__ import annotations

import argparse


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench detect")
    parser.add_argument("parts", nargs="*", default=["p2", "p3"], choices=["p2", "p3"])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--mailboxes", type=int, default=1_000)
    parser.add_argument("--replies", type=int, default=200)
    args = parser.parse_args(argv)
    if "p2" in args.parts:
        from benchmarks.detect.p2 import run

        run(args.messages)
    if "p3" in args.parts:
        from benchmarks.detect.p3 import run as run_p3

        run_p3(args.mailboxes, replies=args.replies)
    return 0
