"""Configuration: env, config file, defaults; a bad value names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluenzr.config import load_settings
from fluenzr.errors import ConfigError


def test_defaults_use_sqlite_in_home(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'fluenzr.db'}"
    assert settings.lang == "es"


def test_environment_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.toml").write_text('[fluenzr]\nlang = "fr"\nsmtp_timeout = 5\n')
    monkeypatch.setenv("FLUENZR_HOME", str(tmp_path))
    assert load_settings().lang == "fr"
    monkeypatch.setenv("FLUENZR_LANG", "en")
    settings = load_settings()
    assert (settings.lang, settings.smtp_timeout) == ("en", 5.0)


@pytest.mark.parametrize(
    ("var", "value", "setting"),
    [
        ("FLUENZR_DATABASE_URL", "mysql://x", "FLUENZR_DATABASE_URL"),
        ("FLUENZR_LANG", "de", "FLUENZR_LANG"),
        ("FLUENZR_SMTP_TIMEOUT", "-3", "FLUENZR_SMTP_TIMEOUT"),
    ],
)
def test_bad_environment_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, var: str, value: str, setting: str
) -> None:
    monkeypatch.setenv("FLUENZR_HOME", str(tmp_path))
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.exit_code == 2
    assert setting in info.value.render("en")


def test_broken_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("lang = [")
    with pytest.raises(ConfigError) as info:
        load_settings(home=tmp_path)
    assert "config.toml" in info.value.render("en")


def test_detection_settings_reach_the_detection_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fluenzr.detection.config import from_settings

    monkeypatch.setenv("FLUENZR_DETECT_BOUNCE_RATE_THRESHOLD", "0.1")
    monkeypatch.setenv("FLUENZR_DETECT_POLL_INTERVAL", "5")
    config = from_settings(load_settings(home=tmp_path))
    assert (config.bounce_rate_threshold, config.poll_interval) == (0.1, 5.0)
    assert from_settings(load_settings(home=tmp_path / "x")).bounce_rate_window == 100
    monkeypatch.setenv("FLUENZR_DETECT_BOUNCE_RATE_THRESHOLD", "2")
    with pytest.raises(ConfigError):
        load_settings(home=tmp_path)
