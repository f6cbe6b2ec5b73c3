"""Classifying incoming mail off the event loop, with a time budget per message.

The event loop also sends mail, wakes IDLE sessions and runs Probar steps, so a message's
parsing and classification run in a small shared thread pool (``classify_workers`` threads).
Each message gets ``classify_timeout`` seconds; past it the watcher stops waiting, records the
message as ``unparseable`` with reason ``time_budget`` and goes on with the next UID.

Why threads and not processes: the classifier's inputs are bounded (:mod:`limits`) and every
regular expression it runs is linear (RE2, :mod:`fluenzr.core.linear_re`), so each call is
guaranteed to end in time proportional to a bounded input. A thread cannot be killed, so the
budget only abandons the result of a call that is slow anyway — it cannot run forever. A process
pool would give a kill-able budget at the cost of a fork/pickle per message and a pool per
worker process; not needed while termination is guaranteed by construction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fluenzr.detection.config import DetectionConfig
from fluenzr.detection.limits import (
    CLASSIFY_ERROR,
    TIME_BUDGET,
    Unparseable,
    check_raw,
    check_tree,
)
from fluenzr.detection.message import parse
from fluenzr.detection.message_kinds import Classification, classify

log = logging.getLogger(__name__)

Parsed = Classification | Unparseable
# The seam: (raw message, our own addresses) → classification. Tests inject slow or failing ones.
Classifier = Callable[[bytes, frozenset[str]], Classification]


def default_classifier(config: DetectionConfig) -> Classifier:
    def run(raw: bytes, own: frozenset[str]) -> Classification:
        msg = parse(raw)
        too_deep = check_tree(msg, config)
        if too_deep is not None:
            raise _Refused(too_deep)
        return classify(msg, own_addresses=own)

    return run


class _Refused(Exception):
    def __init__(self, found: Unparseable) -> None:
        super().__init__(found.reason)
        self.found = found


def classify_guarded(
    raw: bytes,
    *,
    own_addresses: frozenset[str],
    config: DetectionConfig,
    classifier: Classifier | None = None,
) -> Parsed:
    """Limits, then the classifier; never raises (a failure is an :class:`Unparseable`)."""
    refused = check_raw(raw, config)
    if refused is not None:
        return refused
    run = classifier or default_classifier(config)
    try:
        return run(raw, own_addresses)
    except _Refused as refusal:
        return Unparseable(refusal.found.reason, refusal.found.detail, size=len(raw))
    except Exception as exc:  # RecursionError, MemoryError-free surprises: this message only
        log.warning("incoming message quarantined: %s", type(exc).__name__)
        return Unparseable(CLASSIFY_ERROR, type(exc).__name__, size=len(raw))


class ClassifyPool:
    """A bounded thread pool shared by every watcher of a worker."""

    def __init__(self, config: DetectionConfig, *, classifier: Classifier | None = None) -> None:
        self.config = config
        self.classifier = classifier
        self._executor = ThreadPoolExecutor(
            max_workers=config.classify_workers, thread_name_prefix="fluenzr-classify"
        )

    async def classify(self, raw: bytes, *, own_addresses: frozenset[str]) -> Parsed:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            self._executor,
            lambda: classify_guarded(
                raw, own_addresses=own_addresses, config=self.config, classifier=self.classifier
            ),
        )
        try:
            return await asyncio.wait_for(future, timeout=self.config.classify_timeout)
        except TimeoutError:
            log.warning(
                "incoming message quarantined: over the %ss budget", self.config.classify_timeout
            )
            return Unparseable(TIME_BUDGET, f"> {self.config.classify_timeout}s", size=len(raw))

    def close(self) -> None:
        # Abandoned calls end on their own (see the module docstring); do not wait for them.
        self._executor.shutdown(wait=False, cancel_futures=True)
