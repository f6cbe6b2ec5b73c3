"""User-facing text, through gettext catalogues (``.po``) in Spanish, English and French.

Catalogues live in ``locales/<lang>/<domain>.po``; each area of the product owns a domain
(``core``, ``diagnose``, ``sending``, ``detection``, ``web``). Message ids are stable keys
(``error.auth_failed.hint``) so the same key serves the CLI, the API and the web UI; the text is
a :meth:`str.format` template over named parameters.

The language is chosen per call (``lang=``), else per context (:func:`use_language`, set by the
CLI's ``--lang`` and the API's ``Accept-Language``), else ``FLUENZR_LANG``, else Spanish.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LANGUAGES: tuple[str, ...] = ("es", "en", "fr")
DEFAULT_LANGUAGE = "es"
_LOCALES = Path(__file__).parent / "locales"
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("fluenzr_lang", default=None)


def normalise_language(value: str | None) -> str | None:
    """'fr-FR' → 'fr'; unknown → None."""
    if not value:
        return None
    base = value.strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str:
    """Pick the best supported language from an HTTP Accept-Language header."""
    best: tuple[float, str] | None = None
    for part in (header or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = normalise_language(tag)
        if lang is None:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if best is None or q > best[0]:
            best = (q, lang)
    return best[1] if best else DEFAULT_LANGUAGE


def current_language() -> str:
    return _current.get() or normalise_language(os.environ.get("FLUENZR_LANG")) or DEFAULT_LANGUAGE


@contextlib.contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    chosen = normalise_language(lang) or current_language()
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def set_language(lang: str | None) -> str:
    """Set the language for the rest of this context (the CLI's entry point uses it)."""
    chosen = normalise_language(lang) or current_language()
    _current.set(chosen)
    return chosen


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of every domain for one language, key → template."""
    # lazy: Babel (~0.1 s) only when a text is shown; choosing the language needs none of it
    from babel.messages.pofile import read_po

    messages: dict[str, str] = {}
    folder = _LOCALES / lang
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as handle:
            po = read_po(handle, locale=lang)
        for message in po:
            text = message.string
            if message.id and isinstance(message.id, str) and isinstance(text, str) and text:
                messages[message.id] = text
    return messages


def has_message(key: str, lang: str) -> bool:
    return key in catalogue(lang)


def translate(key: str, lang: str | None = None, /, **params: Any) -> str:
    """The text for ``key`` in ``lang``, formatted with ``params``.

    Falls back to English, then to the key itself, so a missing translation never crashes.
    """
    chosen = normalise_language(lang) or current_language()
    template = catalogue(chosen).get(key) or catalogue("en").get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


_ = translate

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "catalogue",
    "current_language",
    "from_accept_language",
    "has_message",
    "normalise_language",
    "set_language",
    "translate",
    "use_language",
]
