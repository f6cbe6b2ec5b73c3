"""Templates show only catalogued text: every ``t("key")`` exists in es, en and fr, and no
human-language words are written straight into the HTML (text or user-facing attributes)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fluenzr.i18n import LANGUAGES, catalogue

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "fluenzr" / "web" / "templates"
KEY = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")
JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
ATTRIBUTE = re.compile(r"""[\w-]+=(?:"[^"]*"|'[^']*')""")
WORD = re.compile(r"[^\W\d_]{2,}")
SHOWN_ATTRS = {"placeholder", "title", "alt", "aria-label", "label"}
# Names and technical tokens that are the same in every language.
ALLOWED = {
    "FluenzR",
    "https",
    "fluenzr",
    "SMTP",
    "IMAP",
    "API",
    "HTTP",
    "PEM",
    "SHA",
    "UTC",
    "ms",
    "example",
    "com",
    "smtp",
    "imap",
    "user",
    "BEGIN",
    "CERTIFICATE",
    "cc",
}
# Mail header names, shown as written in every language (split into words they would not pass).
HEADER_NAMES = re.compile(r"\bMessage-ID\b")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in SHOWN_ATTRS and value:
                self.found.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        data = ATTRIBUTE.sub(" ", data)  # attributes a macro writes as text
        if not self._skip and data.strip():
            self.found.append(data)


def _templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.iterdir() if p.suffix in (".html", ".svg"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: p.name)
def test_every_key_is_translated(path: Path) -> None:
    keys = {k for k in KEY.findall(path.read_text(encoding="utf-8")) if not k.endswith((".", "_"))}
    for lang in LANGUAGES:
        missing = sorted(k for k in keys if k not in catalogue(lang))
        assert not missing, f"{path.name}: {lang} lacks {missing}"


@pytest.mark.parametrize("path", _templates(), ids=lambda p: p.name)
def test_no_hard_coded_words(path: Path) -> None:
    parser = _Text()
    parser.feed(JINJA.sub(" ", path.read_text(encoding="utf-8")))
    words = [
        w
        for text in parser.found
        for w in WORD.findall(HEADER_NAMES.sub(" ", text))
        if w not in ALLOWED
    ]
    assert not words, f"{path.name}: hard-coded text {words[:10]}"


# Keys built from a value in a template: every value the code can produce has its text.
FAMILIES = {
    "web.day.": [str(d) for d in range(7)],
    "web.probar.step_": ["ok", "failed", "warning", "skipped"],
    "web.security.": ["tls", "ssl", "none", "auto"],
    "web.chart.": ["sent", "reply", "bounce", "title", "desc"],
    "web.role.": ["owner", "member"],
    "web.saved.": ["settings", "connection", "trusted", "pause", "resume", "pin_cleared"],
    "web.tech.": ["code", "reply_code", "enhanced_code", "step", "detail", "step_detail"],
    "web.detect.source.": ["preset", "autoconfig", "srv", "mx", "guess"],
}


@pytest.mark.parametrize("prefix", sorted(FAMILIES))
def test_key_families_are_translated(prefix: str) -> None:
    for lang in LANGUAGES:
        missing = [v for v in FAMILIES[prefix] if prefix + v not in catalogue(lang)]
        assert not missing, f"{lang} lacks {prefix}{missing}"
