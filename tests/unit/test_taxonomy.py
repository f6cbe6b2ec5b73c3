"""The error codes are one complete enum: every member has a row, a category, a message and a
hint in es/en/fr, a line in docs/errors.md; unknown stored codes parse to ``unknown``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fluenzr import errors
from fluenzr.error_codes import IMAP_CODES, KINDS, ROWS, Category, ErrorCode, Scope, parse_code
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


def test_imap_codes_map_to_imap_scoped_members() -> None:
    for shared, imap in IMAP_CODES.items():
        assert imap.scope is Scope.IMAP and shared.scope is not Scope.IMAP
        assert imap.category is shared.category


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
