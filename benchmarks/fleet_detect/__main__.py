"""`./dev bench fleet_detect [takeover] [scale] [floor] [--mailboxes N] [--max-mailboxes N]
[--smoke]`.

takeover: 3 workers on PostgreSQL share N mailboxes; connections per mailbox, kill -9 takeover
time, replies lost or doubled. scale: one worker at N then --max-mailboxes, beside imapflow.
floor: the memory of one connection at each layer (TCP, TLS, IMAP session), beside imapflow's.
"""

from __future__ import annotations

import argparse

PARTS = ("takeover", "scale", "floor")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench fleet_detect")
    parser.add_argument(
        "parts", nargs="*", metavar="{takeover,scale,floor}", help="default: all three"
    )
    parser.add_argument("--mailboxes", type=int, default=1_000)
    parser.add_argument("--max-mailboxes", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--lease-ttl", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument("--replies", type=int, default=100)
    parser.add_argument(
        "--stagger",
        type=float,
        default=0.01,
        help="scale: seconds between connection starts to the host (product default 0.05)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part {unknown[0]!r} (choose from {', '.join(PARTS)})")
    parts = args.parts or list(PARTS)
    if args.smoke:
        args.mailboxes, args.max_mailboxes, args.replies, args.lease_ttl = 3, 3, 1, 1.0
    if "takeover" in parts:
        from benchmarks.fleet_detect.takeover import run

        run(args.mailboxes, workers=args.workers, lease_ttl=args.lease_ttl, replies=args.replies)
    if "scale" in parts:
        from benchmarks.fleet_detect.scale import run as run_scale

        sizes = sorted({args.mailboxes, max(args.mailboxes, args.max_mailboxes)})
        run_scale(sizes, replies=args.replies, stagger=args.stagger)
    if "floor" in parts:
        from benchmarks.fleet_detect.floor import run as run_floor

        run_floor(args.mailboxes)
    return 0
