"""Every regular expression applied to untrusted text runs in linear time (RE2).

Incoming mail (detection/, mail/) and the replies of a tenant's SMTP/IMAP server (diagnose/,
sending/ through mail.reply_codes) are hostile. AUDITED lists every compiled pattern of those
packages; a new pattern that is not listed here fails :func:`test_every_pattern_is_audited`, so
it gets its adversarial test before it ships. The stdlib ``re`` may not be used there at all.

Work is bounded by CPU time against a 1 KB baseline (``time.process_time``: not a wall-clock
race): 100 KB of adversarial input may cost at most 200x the 1 KB figure plus a small constant.
A backtracking engine fails this by orders of magnitude on the inputs below.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import fluenzr.detection
import fluenzr.diagnose
import fluenzr.mail
import fluenzr.sending
from fluenzr.core.linear_re import Pattern

PACKAGES = (fluenzr.detection, fluenzr.mail, fluenzr.diagnose, fluenzr.sending)
SRC = Path(fluenzr.detection.__file__).resolve().parents[1]

# module:name of every compiled pattern (a [n] suffix: a collection of n patterns).
AUDITED = frozenset(
    {
        "fluenzr.detection.autoreplies:_ANYWHERE",
        "fluenzr.detection.autoreplies:_START",
        "fluenzr.detection.autoreplies:_RETURN",
        "fluenzr.detection.bounces:DAEMON_NAMES",
        "fluenzr.detection.bounces:_SUBJECTS[18]",
        "fluenzr.detection.bounces:_QUOTED_HEADERS",
        "fluenzr.detection.bounces:_SMTP_PREFIX",
        "fluenzr.detection.intents:_EMAIL",
        "fluenzr.detection.intents:_QUESTION",
        "fluenzr.detection.intents:_RULES[6]",
        "fluenzr.detection.bounces:BOUNCE_PHRASES",
        "fluenzr.detection.bounces:DELAY_PHRASES",
        "fluenzr.detection.bounces:PERMANENT_PHRASES",
        "fluenzr.detection.bounces:_STATUS",
        "fluenzr.detection.bounces:_REPLY_CODE",
        "fluenzr.detection.bounces:_EMAIL",
        "fluenzr.detection.bounces:_ORIGINAL_MARKERS",
        "fluenzr.detection.bounces:_HEADER_MSGID",
        "fluenzr.detection.bounces:_TAGS",
        "fluenzr.detection.bounces:_REPLY_CODE_WORD",
        "fluenzr.detection.bounces:_ID_LINES",
        "fluenzr.detection.message_kinds:NOREPLY_SENDER",
        "fluenzr.detection.imap_adapter:_EXISTS",
        "fluenzr.detection.message:_BRACKETED",
        "fluenzr.detection.message:_FOLD",
        "fluenzr.detection.message:_FIELD_NAME",
        "fluenzr.detection.message:_SIMPLE_ANGLE",
        "fluenzr.detection.message:_SIMPLE_BARE",
        "fluenzr.detection.quotes:_ATTRIBUTION[11]",
        "fluenzr.detection.quotes:_SEPARATOR[1]",
        "fluenzr.detection.quotes:_FROM",
        "fluenzr.detection.quotes:_BLOCK",
        "fluenzr.detection.quotes:_UNSUBSCRIBE",
        "fluenzr.detection.quotes:_SIGNATURE",
        "fluenzr.detection.quotes:_ANY_TAG",
        "fluenzr.detection.quotes:_BLANKS",
        "fluenzr.detection.quotes:_EMPTY_LINES",
        "fluenzr.detection.quotes:_TAG_OR_LT",
        "fluenzr.detection.subjects:_PREFIX",
        "fluenzr.detection.subjects:_REPLY",
        "fluenzr.detection.subjects:_TAG",
        "fluenzr.detection.subjects:_WS",
        "fluenzr.mail._imap_text:_LIST",
        "fluenzr.mail._imap_text:_SHIFTED",
        "fluenzr.mail._imap_text:_UID",
        "fluenzr.mail._imap_text:_FLAGS",
        "fluenzr.mail._imap_text:_SIZE",
        "fluenzr.mail._imap_text:_FETCH_START",
        "fluenzr.mail.imap:_APPENDUID",
        "fluenzr.mail.imap_results:_EXISTS",
        "fluenzr.mail.imap_results:_UIDVALIDITY",
        "fluenzr.mail.imap_results:_UIDNEXT",
        "fluenzr.mail.mime:_SIMPLE",
        "fluenzr.mail.mime:_ATOM_PHRASE",
        "fluenzr.mail.mime:_FIELD_NAME",
        "fluenzr.mail.mime:_MSG_ID",
        "fluenzr.mail.mime:_URI",
        "fluenzr.mail.tls:_PIN",
        "fluenzr.mail.tls:_PIN_NOISE",
        "fluenzr.mail.reply_codes:LIMIT_PATTERNS[20]",
        "fluenzr.mail.reply_codes:AUTH_PATTERNS[4]",
        "fluenzr.mail.reply_codes:_ENHANCED",
        "fluenzr.mail.reply_codes:_MAILBOX_FULL_TEXT",
        "fluenzr.mail.reply_codes:_SIZE_TEXT",
        "fluenzr.mail.reply_codes:_RELAY_TEXT",
        "fluenzr.mail.reply_codes:_SENDER_TEXT",
        "fluenzr.mail.reply_codes:_RECIPIENT_TEXT",
        "fluenzr.mail.reply_codes:_AUTH_REQUIRED_TEXT",
        "fluenzr.mail.reply_codes:_RETRY",
        "fluenzr.mail.reply_codes:_RETRY_AFTER_HEADER",
    }
)


def _modules() -> Iterator[Any]:
    for package in PACKAGES:
        for info in pkgutil.iter_modules(package.__path__):
            yield importlib.import_module(f"{package.__name__}.{info.name}")


def _as_pattern(value: Any) -> Pattern[Any] | None:
    if isinstance(value, Pattern):
        return value
    if isinstance(value, tuple) and any(isinstance(v, Pattern) for v in value):
        return next(v for v in value if isinstance(v, Pattern))  # (name, pattern) rows
    inner = getattr(value, "pattern", None)  # mail.reply_codes.LimitPattern
    return inner if isinstance(inner, Pattern) else None


def _collect() -> dict[str, list[Pattern[Any]]]:
    found: dict[str, list[Pattern[Any]]] = {}
    for module in _modules():
        for name, value in vars(module).items():
            if isinstance(value, Pattern):
                found[f"{module.__name__}:{name}"] = [value]
            elif isinstance(value, list | tuple) and value:
                patterns = [_as_pattern(v) for v in value]
                if all(p is not None for p in patterns):
                    found[f"{module.__name__}:{name}[{len(value)}]"] = [
                        p for p in patterns if p is not None
                    ]
    return found


PATTERNS = _collect()


def test_every_pattern_is_audited() -> None:
    assert set(PATTERNS) == set(AUDITED), "audit the new pattern: add it to AUDITED"


def test_no_backtracking_regex_in_untrusted_packages() -> None:
    """No stdlib ``re`` call in these packages, and every RE2 pattern is compiled at import
    (module level), where the audit above can see it."""
    offenders = []
    for package in PACKAGES:
        for path in Path(package.__path__[0]).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "re"
                    and node.attr not in ("Match", "Pattern")  # type annotations only
                ):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno} re.{node.attr}")
            for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
                if func.name == "_p":  # diagnose.classify's row builder, called at import
                    continue
                for node in ast.walk(func):
                    if (
                        isinstance(node, ast.Attribute)
                        and node.attr == "compile"
                        and isinstance(node.value, ast.Name)
                        and node.value.id == "linear_re"
                    ):
                        offenders.append(f"{path.relative_to(SRC)}:{node.lineno} in a function")
    assert offenders == []


def _inputs(pattern: Pattern[Any]) -> list[Callable[[int], str]]:
    source = pattern.pattern.decode() if isinstance(pattern.pattern, bytes) else pattern.pattern
    literal = "".join(c for c in source if c.isalnum() or c in " .:@<>-_")[:40] or "a"
    return [
        lambda n: " " * n,
        lambda n: ("\t \r\n" * n)[:n],
        lambda n: "a" * n,
        lambda n: ("<" * n)[:n],
        lambda n: ("-" * n)[:n],
        lambda n: ("5." * n)[:n],
        lambda n: ("a@" * n)[:n],
        lambda n: ("On x " * n)[:n],
        lambda n: ("retry in " + " " * n)[:n],
        lambda n: (literal * (n // len(literal) + 1))[:n],
        lambda n: ((literal + " ") * (n // (len(literal) + 1) + 1))[:n],
    ]


def _work(pattern: Pattern[Any], text: str) -> float:
    data: Any = text.encode() if isinstance(pattern.pattern, bytes) else text
    started = time.process_time()
    pattern.search(data)
    pattern.match(data)
    for _ in pattern.finditer(data):
        pass
    return time.process_time() - started


def _bounded(pattern: Pattern[Any], make: Callable[[int], str]) -> tuple[float, float]:
    small = min(_work(pattern, make(1_000)) for _ in range(3))
    big = _work(pattern, make(100_000))
    return small, big


@pytest.mark.parametrize("name", sorted(AUDITED))
def test_each_pattern_is_linear_on_100_kb_of_adversarial_input(name: str) -> None:
    for pattern in PATTERNS[name]:
        for make in _inputs(pattern):
            small, big = _bounded(pattern, make)
            assert big <= 200 * small + 0.05, (name, pattern.pattern, make(40), small, big)


def test_retry_after_parser_is_linear_on_whitespace_runs() -> None:
    """The SMTP reply parser (sending's retry delay) was quadratic on long whitespace runs."""
    from fluenzr.mail.reply_codes import retry_after_hint

    def work(n: int) -> float:
        text = "try again in" + " " * n + "x"
        started = time.process_time()
        assert retry_after_hint(text) is None
        return time.process_time() - started

    small = min(work(1_000) for _ in range(3))
    assert work(100_000) <= 200 * small + 0.05
    assert retry_after_hint("450 4.7.1 try again in 5 minutes") == 300


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("from_header", lambda n: f"From: {'a' * n}\r\nSubject: Re: x\r\n\r\nhi\r\n"),
        ("from_quotes", lambda n: 'From: "' + "\\\\" * (n // 2) + "\r\nSubject: x\r\n\r\nhi\r\n"),
        ("bounce_subject", lambda n: f"From: x@y.z\r\nSubject: warning: message {'.' * n}\r\n\r\n"),
        (
            "html_quotes",
            lambda n: (
                "From: a@b.c\r\nSubject: Re: x\r\nContent-Type: text/html\r\n\r\n"
                + "<div " * (n // 5)
            ),
        ),
        (
            "attribution",
            lambda n: (
                "From: a@b.c\r\nSubject: Re: x\r\n\r\n" + ("On " + "x " * 200 + "\n") * (n // 400)
            ),
        ),
        # flufl.bounce (stdlib re) reads a bounded copy: long lines that its patterns would
        # rescan quadratically (Netscape ".*<", Exchange "x@y on ", LLNL ", a@b,").
        (
            "flufl_netscape",
            lambda n: (
                "From: Postmaster@x.y\r\nReturn-Path: <>\r\nSubject: x\r\n"
                'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
                "Content-Type: text/plain\r\n\r\n"
                "This Message was undeliverable due to the following reason:\r\n"
                + "please reply to " * (n // 16)
                + "\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n"
            ),
        ),
        (
            "flufl_exchange",
            lambda n: (
                "From: postmaster@x.y\r\nReturn-Path: <>\r\nSubject: x\r\n\r\n"
                "did not reach the following recipient\r\n" + "a@" * (n // 2) + "\r\n"
            ),
        ),
        (
            "flufl_llnl",
            lambda n: (
                "From: postmaster@x.y\r\nReturn-Path: <>\r\nSubject: x\r\n\r\n"
                + ", a@" * (n // 4)
                + "\r\n"
            ),
        ),
        (
            "message_id_comments",
            lambda n: (
                "From: a@b.c\r\nSubject: Re: x\r\nIn-Reply-To: "
                + "(<" * (n // 2)
                + "\r\n\r\nhi\r\n"
            ),
        ),
        (
            "intent_phrases",
            lambda n: (
                "From: a@b.c\r\nSubject: Re: x\r\n\r\n" + "please contact " * (n // 15) + "\r\n"
            ),
        ),
        (
            "dsn_text",
            lambda n: (
                "From: MAILER-DAEMON@x.y\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n"
                + "5.5.5." * (n // 6)
            ),
        ),
    ],
)
def test_classifier_is_linear_on_crafted_messages(name: str, make: Callable[[int], str]) -> None:
    from fluenzr.detection.message_kinds import classify_bytes

    def work(n: int) -> float:
        raw = make(n).encode()
        started = time.process_time()
        classify_bytes(raw)
        return time.process_time() - started

    small = min(work(1_000) for _ in range(3))
    big = work(100_000)
    assert big <= 200 * small + 0.1, (name, small, big)
