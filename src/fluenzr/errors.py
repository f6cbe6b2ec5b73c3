"""One error tree for the whole project.

Every error carries a stable ``code``, an :class:`~fluenzr.error_codes.ErrorCode` member (a
snake_case string on the wire: what the CLI's ``--json`` and the API return),
a ``category`` (the heading a user sees, e.g. the seed page's "Autenticación fallida") and
catalogue keys for a message and a fix hint, rendered in the user's language by
:func:`fluenzr.i18n.translate`. Leaves also subclass the matching stdlib type where one exists.

    FluenzrError
    ├── ConfigError                 bad configuration (exit 2)
    ├── ValidationError (ValueError) bad user input at a boundary (exit 2, HTTP 422)
    │   └── DuplicateError          unique value already taken (HTTP 409)
    ├── NotFoundError (LookupError) unknown id, or one the caller cannot see (HTTP 404)
    ├── VaultError                  cannot seal / open credentials
    │   └── CredentialsEndpointChanged  the row's server is not the password's (HTTP 409)
    └── MailError                   a mail server said no, or could not be reached
        (codes and categories in fluenzr.error_codes)

Messages never contain a secret: parameters are plain values chosen by the raiser, and
``Secret`` refuses to render.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluenzr.error_codes import ErrorCode, Scope


class FluenzrError(Exception):
    """Base of every error the project raises on purpose."""

    code: ErrorCode = ErrorCode.ERROR
    category: str = "internal"
    exit_code: int = 1
    http_status: int = 500

    def __init__(
        self,
        code: ErrorCode | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        message_key: str | None = None,
        hint_key: str | None = None,
        category: str | None = None,
        detail: str | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        if category is not None:
            self.category = category
        self.params: dict[str, Any] = dict(params or {})
        self.message_key = message_key or self.code.message_key
        self.hint_key = hint_key or self.code.hint_key
        # ``detail`` is technical context (a server reply, a library message) shown verbatim.
        self.detail = detail
        super().__init__(self.render("en"))

    def _params(self, lang: str | None) -> dict[str, Any]:
        # Lazy: fluenzr.i18n loads Babel, which only rendering a message needs (start-up time).
        from fluenzr.i18n import translate

        params = dict(self.params)
        field = params.get("field")
        if field and "field_label" not in params:
            label = translate(f"field.{field}", lang)
            params["field_label"] = field if label == f"field.{field}" else label
        return params

    def message(self, lang: str | None = None) -> str:
        # Lazy: fluenzr.i18n loads Babel, which only rendering a message needs (start-up time).
        from fluenzr.i18n import translate

        return translate(self.message_key, lang, **self._params(lang))

    def hint(self, lang: str | None = None) -> str:
        # Lazy: fluenzr.i18n loads Babel, which only rendering a message needs (start-up time).
        from fluenzr.i18n import translate

        return translate(self.hint_key, lang, **self._params(lang))

    def render(self, lang: str | None = None) -> str:
        text = self.message(lang)
        return f"{text} ({self.detail})" if self.detail else text

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "category": self.category,
            "message": self.message(lang),
            "hint": self.hint(lang),
        }
        if self.detail:
            out["detail"] = self.detail
        field = self.params.get("field")
        if field:
            out["field"] = field
        return out


class ConfigError(FluenzrError):
    code = ErrorCode.CONFIG_INVALID
    category = "config"
    exit_code = 2


class ValidationError(FluenzrError, ValueError):
    """Bad input. ``params['field']`` names the offending field (CLI option / API field)."""

    code = ErrorCode.INVALID_INPUT
    category = "validation"
    exit_code = 2
    http_status = 422


class DuplicateError(ValidationError):
    code = ErrorCode.DUPLICATE
    http_status = 409


class NotFoundError(FluenzrError, LookupError):
    code = ErrorCode.NOT_FOUND
    category = "not_found"
    exit_code = 1
    http_status = 404


class ConflictError(FluenzrError):
    """The operation is not allowed in the object's current state (e.g. cancel a sent mail)."""

    code = ErrorCode.CONFLICT
    category = "conflict"
    exit_code = 1
    http_status = 409


class RateLimitedError(FluenzrError):
    """Too many requests of one kind in a short time; ``params['retry_after']`` in seconds."""

    code = ErrorCode.RATE_LIMITED
    category = "rate_limited"
    exit_code = 1
    http_status = 429


class VaultError(FluenzrError):
    code = ErrorCode.VAULT_ERROR
    category = "vault"
    exit_code = 1
    http_status = 500


class CredentialsEndpointChanged(VaultError):
    """A stored password no longer matches its row's server (host, port, user, TLS trust).

    Raised instead of ever sending that password anywhere; the user enters it again.
    """

    code = ErrorCode.CREDENTIALS_ENDPOINT_CHANGED
    http_status = 409


class MailError(FluenzrError):
    """A mail server refused, failed or could not be reached. See fluenzr.error_codes.

    ``scope`` says which transport reported it (``smtp``, ``imap``; the code's own scope when
    the raiser does not say): one code for both, e.g. ``auth_failed`` with scope ``imap``.
    Where the catalogue words a code for one protocol (``error.dns_not_found.imap.message``),
    that wording is used."""

    code = ErrorCode.MAIL_ERROR
    category = "mail"
    exit_code = 1
    http_status = 502

    def __init__(
        self,
        code: ErrorCode | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        category: str | None = None,
        detail: str | None = None,
        reply_code: int | None = None,
        enhanced_code: str | None = None,
        scope: Scope | None = None,
    ) -> None:
        self.reply_code = reply_code
        self.enhanced_code = enhanced_code
        if category is None and code is not None:
            # The code knows its category; raisers need not repeat it.
            category = code.category.value
        super().__init__(code, params=params, category=category, detail=detail)
        self.scope: Scope = scope or self.code.scope
        if self.scope is not self.code.scope:
            self.message_key, self.hint_key = scoped_keys(self.code, self.scope)
            self.args = (self.render("en"),)

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        out = super().to_dict(lang)
        out["scope"] = self.scope.value
        if self.reply_code is not None:
            out["reply_code"] = self.reply_code
        if self.enhanced_code:
            out["enhanced_code"] = self.enhanced_code
        return out


def mail_error(
    code: ErrorCode,
    *,
    params: Mapping[str, Any] | None = None,
    detail: str | None = None,
    reply_code: int | None = None,
    enhanced_code: str | None = None,
    variant: str | None = None,
    scope: Scope | None = None,
) -> MailError:
    """A :class:`MailError` whose category comes from the taxonomy.

    ``variant`` picks a more precise message when the catalogue has one
    (``error.certificate_invalid.expired.message``); the hint stays the code's. ``scope``: the
    transport that reports it (``Scope.IMAP``), when the code is shared.
    """
    error = MailError(
        code,
        params=params,
        category=code.category.value,
        detail=detail,
        reply_code=reply_code,
        enhanced_code=enhanced_code,
        scope=scope,
    )
    use_variant(error, variant)
    return error


def scoped_keys(code: ErrorCode, scope: Scope | str | None) -> tuple[str, str]:
    """Message and hint keys of ``code`` as reported in ``scope``: the protocol's own wording
    (``error.<code>.<scope>.message``) where the catalogue has it, else the code's."""
    if not scope or scope == code.scope:
        return code.message_key, code.hint_key
    # Lazy: fluenzr.i18n loads Babel, which only rendering a message needs (start-up time).
    from fluenzr.i18n import has_message

    keys = []
    for own, kind in ((code.message_key, "message"), (code.hint_key, "hint")):
        key = f"error.{code.value}.{scope}.{kind}"
        keys.append(key if has_message(key, "en") else own)
    return keys[0], keys[1]


def use_variant(error: FluenzrError, variant: str | None) -> None:
    """Switch ``error`` to its code's more precise message for ``variant``, when there is one."""
    if not variant:
        return
    # Lazy: fluenzr.i18n loads Babel, which only rendering a message needs (start-up time).
    from fluenzr.i18n import has_message

    key = f"error.{error.code.value}.{variant}.message"
    if has_message(key, "en"):
        error.message_key = key
        error.args = (error.render("en"),)


__all__ = [
    "ConfigError",
    "ConflictError",
    "CredentialsEndpointChanged",
    "DuplicateError",
    "FluenzrError",
    "MailError",
    "NotFoundError",
    "RateLimitedError",
    "ValidationError",
    "VaultError",
    "mail_error",
    "scoped_keys",
    "use_variant",
]
