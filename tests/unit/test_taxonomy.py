"""The taxonomy is complete: every code has a category, a message and a hint in es/en/fr."""

from __future__ import annotations

import pytest

from fluenzr.error_codes import ROWS, TAXONOMY, Category, ErrorKind, kind
from fluenzr.errors import MailError, mail_error
from fluenzr.i18n import LANGUAGES, has_message, translate

SEED_HEADINGS = {
    Category.CONNECTION: "Conexión rechazada",
    Category.AUTH: "Autenticación fallida",
    Category.CERTIFICATE: "Certificado inválido",
    Category.SENDING_LIMIT: "Límite de envío alcanzado",
}


@pytest.mark.parametrize("row", ROWS, ids=[row.code for row in ROWS])
def test_row_has_message_and_hint_everywhere(row: ErrorKind) -> None:
    code = row.code
    for lang in LANGUAGES:
        assert has_message(f"error.{code}.message", lang), (lang, code)
        assert has_message(f"error.{code}.hint", lang), (lang, code)


def test_codes_are_unique() -> None:
    assert len(TAXONOMY) == len(ROWS)


@pytest.mark.parametrize("category", list(Category))
def test_every_category_has_a_name(category: Category) -> None:
    for lang in LANGUAGES:
        assert has_message(category.key, lang)


def test_seed_headings_in_spanish() -> None:
    for category, heading in SEED_HEADINGS.items():
        assert translate(category.key, "es") == heading


def test_mail_error_takes_category_from_taxonomy() -> None:
    error = mail_error("auth_failed", params={"username": "ana@example.com"})
    assert isinstance(error, MailError)
    assert error.category == "auth"
    assert "ana@example.com" in error.message("es")
    assert "App Password" in error.hint("es")


def test_variant_message_keeps_the_code_hint() -> None:
    error = mail_error(
        "certificate_invalid",
        params={"host": "mail.example.com", "fingerprint": "ab" * 32},
        variant="expired",
    )
    assert error.code == "certificate_invalid"
    assert "expirado" in error.message("es")
    assert "ab" * 32 in error.hint("fr")
    assert "expired" in str(error)


def test_unknown_code_falls_back() -> None:
    assert kind("no_such_code").category is Category.MAIL
