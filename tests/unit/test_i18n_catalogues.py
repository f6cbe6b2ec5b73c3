"""Every message exists in Spanish, English and French, with the same placeholders."""

from __future__ import annotations

import string

from fluenzr.error_codes import ErrorCode, parse_code
from fluenzr.i18n import LANGUAGES, catalogue, from_accept_language, translate


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_all_languages_have_the_same_keys() -> None:
    keys = {lang: set(catalogue(lang)) for lang in LANGUAGES}
    for lang in LANGUAGES:
        missing = (keys["es"] | keys["en"] | keys["fr"]) - keys[lang]
        assert not missing, f"{lang} lacks {sorted(missing)[:10]}"


def test_placeholders_agree_across_languages() -> None:
    for key, english in catalogue("en").items():
        for lang in ("es", "fr"):
            other = catalogue(lang).get(key, "")
            assert _fields(other) == _fields(english), f"{lang}:{key}"


def test_seed_words_in_spanish() -> None:
    assert translate("field.name", "es") == "Nombre visible"
    assert translate("field.smtp_host", "es") == "Servidor SMTP"
    assert translate("field.smtp_security", "es") == "Encriptación"


def test_accept_language() -> None:
    assert from_accept_language("fr-FR,fr;q=0.9,en;q=0.8") == "fr"
    assert from_accept_language("de-DE, en;q=0.5") == "en"
    assert from_accept_language(None) == "es"


def test_missing_key_never_crashes() -> None:
    assert translate("no.such.key", "fr") == "no.such.key"
    assert translate("error.port_invalid.message", "es") != ""


def test_mail_error_takes_its_category_from_the_taxonomy() -> None:
    from fluenzr.errors import MailError

    assert MailError(ErrorCode.AUTH_FAILED).category == "auth"
    assert MailError(ErrorCode.CERTIFICATE_INVALID).category == "certificate"
    assert MailError(parse_code("no_such_code")).category == "mail"
