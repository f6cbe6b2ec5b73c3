"""Rendering pages: one Jinja2 environment, text through ``fluenzr.i18n.translate``.

Templates get ``t(key, **params)`` bound to the page's language, the CSRF token, the signed-in
user and the current path (for the language switch). Autoescaping is on for every template.
"""

from __future__ import annotations

import functools
import json
import re
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fluenzr.error_codes import Category, ErrorCode, parse_code, stored_scope
from fluenzr.errors import FluenzrError, ValidationError, scoped_keys
from fluenzr.i18n import LANGUAGES, has_message, translate
from fluenzr.presets.catalogue import get_preset
from fluenzr.services import account_fields
from fluenzr.services.account_outlook import Outlook, outlook
from fluenzr.services.account_rules import PORT_SECURITY
from fluenzr.services.account_views import AccountView

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
    env.globals["provider_name"] = _provider_name
    env.globals["account_field"] = account_fields.field
    env.globals["account_fields"] = account_fields.in_group
    # 465 → ssl, 587 → starttls, …: the form's script switches the encryption from it.
    env.globals["port_security_json"] = json.dumps(
        {str(port): mode.value for port, mode in PORT_SECURITY.items()}
    )
    env.globals["outlook_of"] = _outlook_of
    env.globals["TIMEZONES"] = _timezones()
    return env


def reason_label(code: str, lang: str) -> str:
    """A stored reason code (an account's status, a message's failure) in words: the code's own
    label (``error.<code>.label``), a web phrase, its category's heading, or its message when that
    needs no parameters; never the code itself (that goes to "detalle técnico")."""
    member = parse_code(code)
    for key in (member.label_key, f"web.reason.{code}"):
        if member is not ErrorCode.UNKNOWN and has_message(key, "en"):
            return translate(key, lang)
    if member.category is not Category.MAIL and has_message(member.category.key, "en"):
        return translate(member.category.key, lang)
    key = f"error.{code}.message"
    if has_message(key, "en") and "{" not in translate(key, "en"):
        return translate(key, lang)
    return translate("web.reason.unknown", lang)


def _timezones() -> list[str]:
    """IANA zone names people pick (Area/City and UTC), sorted."""
    names = {z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")}
    return ["UTC", *sorted(n for n in names if not n.startswith(("SystemV/", "US/", "posix/")))]


def _outlook_of(account: AccountView) -> Outlook:
    return outlook(account, now=datetime.now(UTC))


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
        message_key, hint_key = f"error.{code}.message", f"error.{code}.hint"
        member = parse_code(code)  # a retired ``imap_<code>`` reads as ``<code>``, scope imap
        if member is not ErrorCode.UNKNOWN:
            scope = error.get("scope") or stored_scope(code)
            message_key, hint_key = scoped_keys(member, str(scope) if scope else None)
        message = _catalogued(message_key, lang, params, error.get("message"), code)
        hint = _catalogued(hint_key, lang, params, error.get("hint"), "")
    message, hint = _web_words(code, lang, params_of(error), message, hint)
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


# Command names and flags belong to the CLI: the web names the control instead.
CLI_WORDS = re.compile(r"--[a-z]|\bfluenzr [a-z]")


def params_of(error: dict[str, Any] | FluenzrError) -> dict[str, Any]:
    raw = error.params if isinstance(error, FluenzrError) else error.get("params")
    return dict(raw) if isinstance(raw, dict) else {}


def _web_words(
    code: str, lang: str, params: dict[str, Any], message: str, hint: str
) -> tuple[str, str]:
    """The web's own wording (``web.error.<code>.*``) where the shared text names the CLI."""
    for part in ("message", "hint"):
        key = f"web.error.{code}.{part}"
        if has_message(key, "en"):
            text = translate(key, lang, **params)
            message, hint = (text, hint) if part == "message" else (message, text)
    if CLI_WORDS.search(message):
        message = translate("web.error.generic", lang)
    if CLI_WORDS.search(hint):
        hint = ""
    return message, hint


def render(
    request: Request, name: str, *, lang: str, status: int = 200, **context: Any
) -> HTMLResponse:
    template = environment().get_template(name)
    html = template.render(
        request=request,
        lang=lang,
        t=translator(lang),
        reason_label=functools.partial(reason_label, lang=lang),
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
