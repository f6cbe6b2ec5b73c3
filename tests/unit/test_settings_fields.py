"""Settings parse as pydantic-settings parsed them (lax types, bounds, env), without pydantic."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluenzr.config import Settings, load_settings
from fluenzr.core.settings_fields import SettingError
from fluenzr.errors import ConfigError


@pytest.fixture(autouse=True)
def _no_fluenzr_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("FLUENZR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FLUENZR_HOME", str(tmp_path))


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ({"FLUENZR_SMTP_TIMEOUT": " 5 "}, "smtp_timeout", 5.0),
        ({"FLUENZR_HTTP_PORT": "8080"}, "http_port", 8080),
        ({"FLUENZR_SECURE_COOKIES": "yes"}, "secure_cookies", True),
        ({"FLUENZR_VAULT_READ_ONLY": "0"}, "vault_read_only", False),
        ({"FLUENZR_EGRESS_POLICY": "multi_tenant"}, "egress_policy", "multi_tenant"),
        ({"FLUENZR_DATABASE_URL": ""}, "database_url", None),
        ({"FLUENZR_DETECT_POLL_INTERVAL": "5"}, "detect_poll_interval", 5.0),
        ({"FLUENZR_DNSBL_ZONES": "Zen.Spamhaus.org."}, "dnsbl_zones", "zen.spamhaus.org"),
        ({"FLUENZR_LOG_LEVEL": "debug"}, "log_level", "DEBUG"),
        ({"fluenzr_lang": "EN"}, "lang", "en"),  # names in any case, as pydantic-settings
        ({"FLUENZR_DEBUG": "1"}, "lang", "es"),  # other FLUENZR_ variables are not settings
    ],
)
def test_environment_values_are_parsed(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], field: str, value: object
) -> None:
    for name, text in env.items():
        monkeypatch.setenv(name, text)
    assert getattr(load_settings(), field) == value


@pytest.mark.parametrize(
    ("given", "field", "problem"),
    [
        ({"smtp_timeout": "-3"}, "smtp_timeout", "Input should be greater than 0"),
        ({"smtp_timeout": "abc"}, "smtp_timeout", "unable to parse string as a number"),
        ({"http_port": 70000}, "http_port", "Input should be less than or equal to 65535"),
        ({"http_port": 80.5}, "http_port", "fractional part"),
        ({"max_body_bytes": 10}, "max_body_bytes", "greater than or equal to 1024"),
        ({"secure_cookies": "maybe"}, "secure_cookies", "valid boolean"),
        ({"egress_policy": "x"}, "egress_policy", "'single_user' or 'multi_tenant'"),
        ({"http_host": 5}, "http_host", "valid string"),
        ({"oauth_microsoft_tenant": "a b"}, "oauth_microsoft_tenant", "should match pattern"),
        ({"lang": "de"}, "lang", "Value error, must be one of es, en, fr"),
        ({"database_url": "mysql://x"}, "database_url", "Value error, must start with"),
        ({"nonsense": 1}, "nonsense", "Extra inputs are not permitted"),
    ],
)
def test_bad_values_name_the_field(given: dict[str, object], field: str, problem: str) -> None:
    with pytest.raises(SettingError) as info:
        Settings(**given)
    assert info.value.field == field
    assert problem in info.value.problem


def test_a_bad_value_never_repeats_itself_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENZR_HTTP_PORT", "hunter2-secret")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.__cause__ is None
    assert "hunter2" not in info.value.render("en")
    assert "FLUENZR_HTTP_PORT" in info.value.render("en")


def test_secrets_stay_masked_and_settings_are_frozen() -> None:
    settings = Settings(oauth_google_client_secret="s3cret", lang="fr")
    assert settings.oauth_google_client_secret is not None
    assert settings.oauth_google_client_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    with pytest.raises(AttributeError):
        settings.lang = "en"
    copy = settings.model_copy(update={"probar_rate_limit": 1})
    assert (copy.probar_rate_limit, copy.lang, settings.probar_rate_limit) == (1, "fr", 10)
    assert copy != settings and settings == Settings(oauth_google_client_secret="s3cret", lang="fr")


def test_given_values_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENZR_LANG", "en")
    assert Settings().lang == "en"
    assert Settings(lang="fr").lang == "fr"
    assert Settings(smtp_timeout=7).smtp_timeout == 7.0
