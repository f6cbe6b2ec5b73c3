"""Each validation rule names the field, says what is wrong and how to fix it, in es/en/fr."""

from __future__ import annotations

import pytest

from fluenzr.core.secret import Secret
from fluenzr.errors import ValidationError
from fluenzr.presets.catalogue import get_preset, list_presets, match_mx, match_preset
from fluenzr.services.account_config import AccountInput, resolve

BASE = {"email": "ana@example.com", "smtp_host": "smtp.example.com", "password": Secret("x")}


def _fails(code: str, field: str, **changes: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        resolve(AccountInput(**{**BASE, **changes}))  # type: ignore[arg-type]
    error = info.value
    assert error.code == code
    assert error.params["field"] == field
    for lang in ("es", "en", "fr"):
        assert error.message(lang) and not error.message(lang).startswith("error.")
        assert error.hint(lang) and not error.hint(lang).startswith("error.")
    return error


@pytest.mark.parametrize(
    ("code", "field", "changes"),
    [
        ("email_invalid", "email", {"email": "ana@"}),
        ("email_missing", "email", {"email": " "}),
        ("host_invalid", "smtp_host", {"smtp_host": "smtp://mail.example.com"}),
        ("host_invalid", "smtp_host", {"smtp_host": "bad_host.example.com"}),
        ("host_missing", "smtp_host", {"smtp_host": ""}),
        ("port_invalid", "smtp_port", {"smtp_port": 70000}),
        ("port_invalid", "smtp_port", {"smtp_port": -1}),
        ("security_invalid", "smtp_security", {"smtp_security": "tls1.3"}),
        (
            "security_port_mismatch",
            "smtp_security",
            {"smtp_port": 465, "smtp_security": "starttls"},
        ),
        ("security_port_mismatch", "smtp_security", {"smtp_port": 587, "smtp_security": "ssl"}),
        ("cleartext_not_loopback", "smtp_security", {"smtp_security": "none", "smtp_port": 25}),
        ("display_name_invalid", "name", {"display_name": "Ana\r\nBcc: x@y.z"}),
        ("pin_invalid", "pin_sha256", {"pin_sha256": "abc"}),
        ("ca_pem_invalid", "smtp_ca_pem", {"smtp_ca_pem": "/nonexistent/ca.pem"}),
        ("limit_invalid", "daily_limit", {"daily_limit": 0}),
        ("timezone_invalid", "timezone", {"timezone": "Mars/Olympus"}),
        ("preset_unknown", "preset", {"preset": "gmail"}),
        (
            "security_port_mismatch",
            "imap_security",
            {"imap_host": "imap.example.com", "imap_port": 993, "imap_security": "starttls"},
        ),
    ],
)
def test_bad_values_are_refused(code: str, field: str, changes: dict[str, object]) -> None:
    _fails(code, field, **changes)


def test_mismatch_hint_names_the_right_setting() -> None:
    error = _fails(
        "security_port_mismatch", "smtp_security", smtp_port=465, smtp_security="starttls"
    )
    assert "SSL" in error.hint("es") and "465" in error.hint("es")


def test_force_accepts_an_unusual_pair() -> None:
    config = resolve(AccountInput(**BASE, smtp_port=465, smtp_security="starttls", force=True))  # type: ignore[arg-type]
    assert config.smtp_port == 465


def test_cleartext_allowed_to_loopback_only() -> None:
    config = resolve(
        AccountInput(
            **{**BASE, "smtp_host": "127.0.0.1", "smtp_security": "none", "smtp_port": 2525}
        )
    )  # type: ignore[arg-type]
    assert config.smtp_security.value == "none"


def test_defaults_follow_port_and_security() -> None:
    assert resolve(AccountInput(**BASE, smtp_port=465)).smtp_security.value == "ssl"  # type: ignore[arg-type]
    assert resolve(AccountInput(**BASE, smtp_security="ssl")).smtp_port == 465  # type: ignore[arg-type]
    plain = resolve(AccountInput(**BASE))  # type: ignore[arg-type]
    assert (plain.smtp_port, plain.smtp_security.value, plain.smtp_username) == (
        587,
        "starttls",
        "ana@example.com",
    )


def test_preset_fills_servers_and_imap() -> None:
    config = resolve(AccountInput(email="ana@zoho.eu", preset="zoho-eu", password=Secret("x")))
    assert (config.smtp_host, config.smtp_port, config.smtp_security.value) == (
        "smtp.zoho.eu",
        587,
        "starttls",
    )
    assert (config.imap_host, config.imap_port, config.imap_security) == (
        "imap.zoho.eu",
        993,
        "ssl",
    )
    assert config.provider == "zoho-eu"


def test_presets_match_the_seed_page() -> None:
    keys = {p.key for p in list_presets()}
    assert {"ovh", "gandi", "zoho-eu", "zoho", "infomaniak", "protonmail-bridge", "custom"} <= keys
    ovh = get_preset("ovh")
    assert (ovh.smtp_host, ovh.smtp_port, ovh.imap_port) == ("ssl0.ovh.net", 587, 993)
    bridge = get_preset("protonmail-bridge")
    assert (bridge.smtp_host, bridge.smtp_port, bridge.imap_port) == ("127.0.0.1", 1025, 1143)
    assert bridge.self_signed_certificate and get_preset("zoho").app_password_required
    assert match_preset("zoho.eu") is not None and match_preset("zoho.eu").key == "zoho-eu"  # type: ignore[union-attr]
    assert match_mx("mx1.mail.ovh.net").key == "ovh"  # type: ignore[union-attr]
    assert match_preset("example.com") is None


def test_pin_is_normalised() -> None:
    pin = ":".join(["AB"] * 32)
    assert resolve(AccountInput(**BASE, pin_sha256=pin)).pin_sha256 == "ab" * 32  # type: ignore[arg-type]
