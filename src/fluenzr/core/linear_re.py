"""Regular expressions that run in linear time, for text that comes from outside (RE2).

Python's ``re`` backtracks: a crafted 50 KB subject, bounce or HTML body can make one search
take minutes. Every pattern applied to incoming mail or to a server's reply is compiled here
instead, with Google's RE2 (``google-re2``), whose matching time is linear in the input for any
pattern. RE2 has no backreferences and no lookaround; patterns are written without them.

Differences from ``re`` that matter here: ``\\s`` and ``\\b`` are ASCII-only; ``str`` text is
matched as UTF-8 (lone surrogates from ``surrogateescape`` decoding are replaced by U+FFFD
first, one character for one, so positions stay those of the original text).

tests/unit/test_linear_regex.py lists every audited pattern and feeds each 100 KB of
adversarial input.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from typing import Any, AnyStr, Generic, cast

import re2  # type: ignore[import-untyped]  # no stubs published

IGNORECASE = re.IGNORECASE
MULTILINE = re.MULTILINE
DOTALL = re.DOTALL
I = IGNORECASE  # noqa: E741 - the spelling of ``re``
M = MULTILINE
_INLINE = ((IGNORECASE, "i"), (MULTILINE, "m"), (DOTALL, "s"))

_OPTIONS = re2.Options()
_OPTIONS.max_mem = 64 << 20  # alternations of many phrases with {0,300} need more than 8 MiB


def _fffd(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeEncodeError)
    return "\ufffd" * (error.end - error.start), error.end


codecs.register_error("fluenzr.linear_re", _fffd)


def _safe(text: Any) -> Any:
    if isinstance(text, str) and not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return text.encode("utf-8", "fluenzr.linear_re").decode("utf-8")
    return text


class Pattern(Generic[AnyStr]):
    """A compiled RE2 pattern with the ``re.Pattern`` methods this code base uses."""

    def __init__(self, pattern: AnyStr, flags: int = 0) -> None:
        letters = "".join(letter for flag, letter in _INLINE if flags & flag)
        self.pattern: AnyStr = pattern
        source: Any = pattern
        if letters:
            prefix = f"(?{letters})"
            source = prefix.encode() + pattern if isinstance(pattern, bytes) else prefix + pattern
        self._regexp = re2.compile(source, _OPTIONS)

    def search(self, text: AnyStr) -> re.Match[AnyStr] | None:
        return cast("re.Match[AnyStr] | None", self._regexp.search(_safe(text)))

    def match(self, text: AnyStr) -> re.Match[AnyStr] | None:
        return cast("re.Match[AnyStr] | None", self._regexp.match(_safe(text)))

    def fullmatch(self, text: AnyStr) -> re.Match[AnyStr] | None:
        return cast("re.Match[AnyStr] | None", self._regexp.fullmatch(_safe(text)))

    def finditer(self, text: AnyStr) -> Iterator[re.Match[AnyStr]]:
        return cast("Iterator[re.Match[AnyStr]]", self._regexp.finditer(_safe(text)))

    def findall(self, text: AnyStr) -> list[Any]:
        return cast("list[Any]", self._regexp.findall(_safe(text)))

    def sub(
        self,
        repl: AnyStr | Callable[[re.Match[AnyStr]], AnyStr],
        text: AnyStr,
        count: int = 0,
    ) -> AnyStr:
        return cast("AnyStr", self._regexp.sub(repl, _safe(text), count))


def compile(pattern: AnyStr, flags: int = 0) -> Pattern[AnyStr]:
    return Pattern(pattern, flags)


def escape(text: str) -> str:
    return re.escape(text)  # escaping is syntax only; RE2 accepts re's escapes of literals


__all__ = ["DOTALL", "IGNORECASE", "MULTILINE", "Pattern", "compile", "escape"]
