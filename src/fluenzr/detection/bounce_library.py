"""GNU Mailman's bounce detector (flufl.bounce) as a second opinion, on a bounded copy.

flufl.bounce knows the shapes of two decades of MTAs (qmail, Exim, GroupWise/NTMail, SMTP32,
Netscape, Sina, AOL, Yahoo, Exchange 5.5 …). It reads the message line by line with the
stdlib ``re``, whose backtracking is at worst quadratic in a line for its patterns (none
nests quantifiers). So it never sees the message itself: it gets a copy whose lines are cut to
``MAX_LINE`` characters and whose size is cut to ``MAX_BYTES`` — a linear pass — which bounds
its whole run (tests/unit/test_bounce_library.py has the adversarial inputs). Its answer is a
hint that :mod:`bounces` validates: an address counts only if the bounce's own text (before the
returned original) names it and it is not ours, the postmaster's or the sender's.
"""

from __future__ import annotations

import logging
from email import message_from_bytes, policy
from email.message import Message

from flufl.bounce import all_failures

log = logging.getLogger(__name__)
MAX_LINE = 400
MAX_BYTES = 96_000


def bounded_copy(raw: bytes) -> Message:
    """``raw`` with every line cut to MAX_LINE bytes and the whole cut to MAX_BYTES, parsed."""
    lines = raw[:MAX_BYTES].split(b"\n")
    return message_from_bytes(b"\n".join(line[:MAX_LINE] for line in lines), policy=policy.compat32)


def library_failures(msg: Message) -> tuple[list[str], list[str]]:
    """(temporary, permanent) failed addresses flufl.bounce finds, lower-cased; never raises."""
    try:
        raw = msg.as_bytes()
        temporary, permanent = all_failures(bounded_copy(raw))
    except Exception as exc:  # a library bug on odd input must not stop the classifier
        log.debug("flufl.bounce failed: %s", type(exc).__name__)
        return [], []
    return _decoded(temporary), _decoded(permanent)


def _decoded(found: frozenset[bytes]) -> list[str]:
    out = []
    for value in sorted(found):
        text = value.decode("ascii", "replace").strip().strip("<>").lower()
        if "@" in text and text not in out:
            out.append(text)
    return out
