"""Rendering pages: one Jinja2 environment, text through ``fluenzr.i18n.translate``.

Templates get ``t(key, **params)`` bound to the page's language, the CSRF token, the signed-in
user and the current path (for the language switch). Autoescaping is on for every template.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fluenzr.error_codes import parse_code
from fluenzr.errors import FluenzrError, ValidationError
from fluenzr.i18n import LANGUAGES, has_message, translate
from fluenzr.presets.catalogue import get_preset

HERE = Path(__file__).parent
STATIC = HERE / "static"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["LANGUAGES"] = LANGUAGES
    env.globals["has_key"] = lambda key: has_message(key, "en")
    env.globals["category_of"] = _category_of
    env.globals["provider_name"] = _provider_name
    return env


def _category_of(stored: str) -> str | None:
    """The heading category of a stored code; ``mail`` (no precise heading) for an unknown one."""
    return str(parse_code(stored).category.value)


def _provider_name(key: str) -> str:
    try:
        return get_preset(key).name
    except ValidationError:
        return key


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def translator(lang: str) -> Any:
    def t(key: str, **params: Any) -> str:
        return translate(key, lang, **params)

    return t


def _catalogued(key: str, lang: str, params: Any, stored: Any, fallback: str) -> str:
    """The catalogue's text when it can be fully rendered, else the stored text."""
    if has_message(key, "en"):
        template = translate(key, "en")
        if "{" not in template or params:
            return translate(key, lang, **(params or {}))
    return str(stored or fallback)


def error_text(error: dict[str, Any] | FluenzrError, lang: str) -> dict[str, str]:
    """Message, hint and category heading of an error, in ``lang``.

    Stored reports (Probar results) keep the code: the text is rendered again from the
    catalogue so the reader sees their language; the stored text is the fallback.
    """
    code: str  # a stored report keeps whatever code string it was written with
    if isinstance(error, FluenzrError):
        code, category = error.code, error.category
        message, hint = error.message(lang), error.hint(lang)
    else:
        code = str(error.get("code") or "error")
        category = str(error.get("category") or "")
        params = error.get("params") if isinstance(error.get("params"), dict) else {}
        message = _catalogued(f"error.{code}.message", lang, params, error.get("message"), code)
        hint = _catalogued(f"error.{code}.hint", lang, params, error.get("hint"), "")
    heading = ""
    for candidate in (f"category.{category}", f"web.category.{category}"):
        if category and has_message(candidate, "en"):
            heading = translate(candidate, lang)
            break
    return {
        "code": code,
        "category": category,
        "heading": heading,
        "message": message,
        "hint": hint,
    }


def render(
    request: Request, name: str, *, lang: str, status: int = 200, **context: Any
) -> HTMLResponse:
    template = environment().get_template(name)
    html = template.render(
        request=request,
        lang=lang,
        t=translator(lang),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, *, error: FluenzrError, status: int, lang: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        lang=lang,
        status=status,
        error=error_text(error, lang),
        status_code=status,
        user=None,
        csrf="",
    )
