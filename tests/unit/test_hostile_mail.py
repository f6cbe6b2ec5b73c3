"""Hostile incoming mail, without I/O: limits refuse before parsing, a failure is quarantined,
and classification runs off the event loop with a time budget."""

from __future__ import annotations

import asyncio
import threading

import pytest

from fluenzr.detection.config import DetectionConfig, from_settings
from fluenzr.detection.limits import (
    CLASSIFY_ERROR,
    HEADER_COUNT,
    HEADER_LENGTH,
    HEADER_SIZE,
    MIME_DEPTH,
    MIME_PARTS,
    TIME_BUDGET,
    TOO_LARGE,
    Unparseable,
    check_size,
)
from fluenzr.detection.message_kinds import Classification
from fluenzr.detection.offloop import ClassifyPool, classify_guarded, default_classifier

CONFIG = DetectionConfig()
OWN = frozenset({"ana@fluenzr.test"})
HEAD = "From: bob@fluenzr.test\r\nTo: ana@fluenzr.test\r\nSubject: Re: Quick question\r\n"
REPLY = (HEAD + "In-Reply-To: <x@fluenzr.test>\r\n\r\nYes, call me.\r\n").encode()


def nested_mime(levels: int) -> bytes:
    out = [HEAD, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n']
    for level in range(1, levels):
        out.append(f'--b{level - 1}\r\nContent-Type: multipart/mixed; boundary="b{level}"\r\n\r\n')
    out.append(f"--b{levels - 1}\r\nContent-Type: text/plain\r\n\r\nhi\r\n")
    out.extend(f"--b{level}--\r\n" for level in range(levels - 1, -1, -1))
    return "".join(out).encode()


def test_a_normal_reply_is_classified() -> None:
    found = classify_guarded(REPLY, own_addresses=OWN, config=CONFIG)
    assert isinstance(found, Classification) and found.kind == "reply"


def test_5000_nested_multiparts_are_refused_before_the_parser_recurses() -> None:
    found = classify_guarded(nested_mime(5000), own_addresses=OWN, config=CONFIG)
    assert isinstance(found, Unparseable) and found.reason == MIME_DEPTH


def test_the_parsed_depth_is_checked_too() -> None:
    """Counted containers may be under the limit while the tree is deeper than allowed."""
    config = DetectionConfig(max_mime_depth=5)
    assert classify_guarded(nested_mime(5), own_addresses=OWN, config=config) is not None
    found = classify_guarded(nested_mime(6), own_addresses=OWN, config=config)
    assert isinstance(found, Unparseable) and found.reason == MIME_DEPTH


def test_too_many_parts() -> None:
    parts = "".join(
        f"--b\r\nContent-Type: text/plain\r\n\r\npart {n}\r\n" for n in range(CONFIG.max_mime_parts)
    )
    raw = (
        HEAD + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + "--b--\r\n"
    ).encode()
    found = classify_guarded(raw, own_addresses=OWN, config=CONFIG)
    assert isinstance(found, Unparseable) and found.reason == MIME_PARTS


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ((HEAD + "X-A: b\r\n" * 2000 + "\r\nhi").encode(), HEADER_COUNT),
        ((HEAD + "References: " + "<a@b> " * 20_000 + "\r\n\r\nhi").encode(), HEADER_LENGTH),
        ((HEAD + "X-A:" + " x\r\n" * 30_000 + "\r\nhi").encode(), HEADER_LENGTH),
        ((HEAD + ("X-B: " + "c" * 50_000 + "\r\n") * 3 + "\r\nhi").encode(), HEADER_SIZE),
    ],
    ids=["count", "one_long_field", "folded_field", "block_size"],
)
def test_header_limits(raw: bytes, reason: str) -> None:
    found = classify_guarded(raw, own_addresses=OWN, config=CONFIG)
    assert isinstance(found, Unparseable) and found.reason == reason
    assert found.size == len(raw)


def test_message_size_limit() -> None:
    assert check_size(CONFIG.max_message_bytes, CONFIG) is None
    over = check_size(CONFIG.max_message_bytes + 1, CONFIG)
    assert over is not None and over.reason == TOO_LARGE
    big = REPLY + b"x" * 5000
    found = classify_guarded(big, own_addresses=OWN, config=DetectionConfig(max_message_bytes=4096))
    assert isinstance(found, Unparseable) and found.reason == TOO_LARGE


def test_a_failing_classifier_quarantines_the_message_without_its_text() -> None:
    def boom(raw: bytes, own: frozenset[str]) -> Classification:
        raise RecursionError("secret text of the message")

    found = classify_guarded(REPLY, own_addresses=OWN, config=CONFIG, classifier=boom)
    assert found == Unparseable(CLASSIFY_ERROR, "RecursionError", size=len(REPLY))
    assert "secret" not in str(found.to_dict())


def test_limits_are_settings() -> None:
    class Settings:
        detect_max_mime_depth = 7
        detect_max_message_bytes = 1_000_000
        detect_classify_timeout = 3.0

    config = from_settings(Settings())
    assert (config.max_mime_depth, config.max_message_bytes, config.classify_timeout) == (
        7,
        1_000_000,
        3.0,
    )
    assert DetectionConfig(max_mime_depth=10_000).clamped().max_mime_depth == 200


async def test_the_event_loop_keeps_running_while_a_slow_message_is_classified() -> None:
    """A deliberately slow classifier (blocked until released, no timing race): meanwhile a
    concurrent task on the loop ticks to completion."""
    started, release = threading.Event(), threading.Event()
    normal = default_classifier(CONFIG)

    def slow(raw: bytes, own: frozenset[str]) -> Classification:
        started.set()
        release.wait(30)
        return normal(raw, own)

    pool = ClassifyPool(CONFIG, classifier=slow)
    try:
        task = asyncio.create_task(pool.classify(REPLY, own_addresses=OWN))
        assert await asyncio.to_thread(started.wait, 10)
        ticks = 0
        for _ in range(100):
            await asyncio.sleep(0)
            ticks += 1
        assert ticks == 100
        assert not task.done()  # still classifying: the loop was never blocked by it
        release.set()
        found = await task
        assert isinstance(found, Classification) and found.kind == "reply"
    finally:
        release.set()
        pool.close()


async def test_over_the_time_budget_the_message_is_quarantined() -> None:
    release = threading.Event()

    def stuck(raw: bytes, own: frozenset[str]) -> Classification:
        release.wait(30)
        raise AssertionError("abandoned")

    pool = ClassifyPool(DetectionConfig(classify_timeout=0.2), classifier=stuck)
    try:
        found = await pool.classify(REPLY, own_addresses=OWN)
        assert isinstance(found, Unparseable) and found.reason == TIME_BUDGET
    finally:
        release.set()
        pool.close()
