"""The error codes are one complete enum: every member has a row, a category, a message and a
hint in es/en/fr, a line in docs/errors.md; unknown stored codes parse to ``unknown``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fluenzr import errors
from fluenzr.error_codes import (
    KINDS,
    ROWS,
    Category,
    ErrorCode,
    Scope,
    parse_code,
    stored_scope,
)
from fluenzr.errors import MailError, mail_error
from fluenzr.i18n import LANGUAGES, has_message, translate

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
SEED_HEADINGS = {
    Category.CONNECTION: "Conexión rechazada",
    Category.AUTH: "Autenticación fallida",
    Category.CERTIFICATE: "Certificado inválido",
    Category.SENDING_LIMIT: "Límite de envío alcanzado",
}


@pytest.mark.parametrize("code", list(ErrorCode), ids=[c.value for c in ErrorCode])
def test_code_has_message_and_hint_everywhere(code: ErrorCode) -> None:
    for lang in LANGUAGES:
        assert has_message(code.message_key, lang), (lang, code)
        assert has_message(code.hint_key, lang), (lang, code)


def test_every_member_has_exactly_one_row() -> None:
    assert len(ROWS) == len(KINDS) == len(ErrorCode)
    assert set(KINDS) == set(ErrorCode)


def test_wire_value_is_the_snake_case_string() -> None:
    assert ErrorCode.AUTH_FAILED == "auth_failed"
    assert f"{ErrorCode.AUTH_FAILED}" == "auth_failed"
    for code in ErrorCode:
        assert code.value == code.name.lower()


MAIL_CATEGORIES = sorted({row.category for row in ROWS if row.scope is not Scope.APP})


# Headings are shown for mail failures (Probar, account status); the application's errors show
# their message only.
@pytest.mark.parametrize("category", MAIL_CATEGORIES)
def test_every_mail_category_has_a_name(category: Category) -> None:
    for lang in LANGUAGES:
        assert has_message(category.key, lang)


def test_seed_headings_in_spanish() -> None:
    for category, heading in SEED_HEADINGS.items():
        assert translate(category.key, "es") == heading


def test_one_code_for_both_transports_the_error_carries_the_scope() -> None:
    values = {code.value for code in ErrorCode}
    copies = [c for c in values if c.startswith("imap_") and c.removeprefix("imap_") in values]
    assert copies == []  # no parallel IMAP copy of a shared code
    imap = mail_error(
        ErrorCode.DNS_NOT_FOUND, params={"host": "imap.example.com"}, scope=Scope.IMAP
    )
    smtp = mail_error(
        ErrorCode.DNS_NOT_FOUND, params={"host": "smtp.example.com"}, scope=Scope.SMTP
    )
    assert imap.code is smtp.code is ErrorCode.DNS_NOT_FOUND
    assert (imap.to_dict("en")["scope"], smtp.to_dict("en")["scope"]) == ("imap", "smtp")
    # The protocol's own wording where the catalogue has one, the code's otherwise.
    assert "IMAP" in imap.message("en") and "SMTP" in smtp.message("en")
    refused = mail_error(
        ErrorCode.CONNECTION_REFUSED, params={"host": "h", "port": 1}, scope=Scope.IMAP
    )
    assert "993" in refused.hint("es")
    login = mail_error(ErrorCode.AUTH_FAILED, params={"username": "ana"}, scope=Scope.IMAP)
    assert login.message_key == ErrorCode.AUTH_FAILED.message_key


@pytest.mark.parametrize(
    ("stored", "code", "scope"),
    [
        ("imap_auth_failed", ErrorCode.AUTH_FAILED, Scope.IMAP),  # a retired IMAP copy
        ("imap_tls_mode_mismatch", ErrorCode.TLS_MODE_MISMATCH, Scope.IMAP),
        ("imap_folder_not_found", ErrorCode.IMAP_FOLDER_NOT_FOUND, None),  # IMAP's own code
        ("auth_failed", ErrorCode.AUTH_FAILED, None),
        ("imap_no_such_thing", ErrorCode.UNKNOWN, None),
    ],
)
def test_retired_imap_copies_read_as_the_shared_code(
    stored: str, code: ErrorCode, scope: Scope | None
) -> None:
    assert (parse_code(stored), stored_scope(stored)) == (code, scope)


def test_error_classes_report_their_default_codes_category() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    for cls in classes:
        if isinstance(cls, type) and issubclass(cls, errors.FluenzrError):
            assert cls.category == cls.code.category.value, cls


def test_mail_error_takes_category_from_the_code() -> None:
    error = mail_error(ErrorCode.AUTH_FAILED, params={"username": "ana@example.com"})
    assert isinstance(error, MailError)
    assert error.category == "auth"
    assert "ana@example.com" in error.message("es")
    assert "App Password" in error.hint("es")
    assert error.to_dict("en")["code"] == "auth_failed"


def test_variant_message_keeps_the_code_hint() -> None:
    error = mail_error(
        ErrorCode.CERTIFICATE_INVALID,
        params={"host": "mail.example.com", "fingerprint": "ab" * 32},
        variant="expired",
    )
    assert error.code is ErrorCode.CERTIFICATE_INVALID
    assert "expirado" in error.message("es")
    assert "ab" * 32 in error.hint("fr")
    assert "expired" in str(error)


def test_stored_codes_parse_and_unknown_ones_are_explicit() -> None:
    assert parse_code("mailbox_full") is ErrorCode.MAILBOX_FULL
    assert parse_code("no_such_code") is ErrorCode.UNKNOWN
    assert ErrorCode.UNKNOWN.category is Category.MAIL


def test_docs_list_every_code() -> None:
    listed = set(re.findall(r"^\| `([a-z_0-9]+)` \|", DOCS.read_text(encoding="utf-8"), re.M))
    assert listed == {code.value for code in ErrorCode}
