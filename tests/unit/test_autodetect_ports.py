"""Pure parts of port probing and Probar: which ports to try, the test email, the CA file."""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr

from fluenzr.core.endpoints import Endpoint, MailboxCredentials, Security, TlsPolicy
from fluenzr.core.secret import Secret
from fluenzr.diagnose.port_suggestions import STANDARD_IMAP, PortSuggestion, candidates
from fluenzr.diagnose.probar import probar_message
from fluenzr.error_codes import ErrorCode
from fluenzr.i18n import use_language


def test_candidates_after_refusal_are_the_other_standard_ports() -> None:
    plan = candidates(port=587, security=Security.STARTTLS, code=ErrorCode.CONNECTION_REFUSED)
    assert plan == [(465, Security.SSL), (25, Security.STARTTLS)]


def test_candidates_after_mode_mismatch_start_with_the_same_port_other_mode() -> None:
    plan = candidates(port=465, security=Security.STARTTLS, code=ErrorCode.TLS_MODE_MISMATCH)
    assert plan[0] == (465, Security.SSL)
    assert plan[1:] == [(587, Security.STARTTLS), (25, Security.STARTTLS)]


def test_imap_candidates_use_the_imap_ports() -> None:
    plan = candidates(
        port=143, security=Security.SSL, code=ErrorCode.TLS_MODE_MISMATCH, standard=STANDARD_IMAP
    )
    assert plan == [(143, Security.STARTTLS), (993, Security.SSL)]


def test_suggestion_text_is_measured_and_localised() -> None:
    other = PortSuggestion(465, Security.SSL, 12, 587, Security.STARTTLS)
    assert other.hint("es") == (
        "Prueba con otro puerto (465 en lugar de 587): ha respondido con SSL en 12 ms."
    )
    assert "465 instead of 587" in other.hint("en")
    assert "465 au lieu de 587" in other.hint("fr")
    same = PortSuggestion(465, Security.SSL, 9, 465, Security.STARTTLS)
    assert "SSL" in same.hint("es") and "465" in same.hint("es")


def _credentials(**tls: str) -> MailboxCredentials:
    smtp = Endpoint("127.0.0.1", 587, Security.STARTTLS, "u", Secret("p"), TlsPolicy(**tls))
    return MailboxCredentials(1, 1, "José.Pérez@example.com", "José Pérez", smtp, None)


def test_test_message_has_unique_id_on_the_account_domain_and_is_auto_generated() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    with use_language("fr"):
        first = probar_message(_credentials(), now=when)
    second = probar_message(_credentials(), now=when)
    assert first["Message-ID"] != second["Message-ID"]
    assert str(first["Message-ID"]).endswith("@example.com>")
    assert parseaddr(str(first["To"]))[1] == "José.Pérez@example.com"
    assert first["Auto-Submitted"] == "auto-generated"
    assert str(first["Subject"]).startswith("FluenzR : e-mail de test")
    assert "José.Pérez@example.com" in first.get_content()
