"""FLUENZR_LOG_FORMAT=json: one JSON object per line, every field redacted like the text log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluenzr.config import load_settings
from fluenzr.errors import ConfigError
from fluenzr.logs import configure_logging, release_logging

SECRET = "hunter2-s3cret"


@pytest.fixture
def json_log(tmp_path: Path) -> Iterator[Path]:
    path = configure_logging(home=tmp_path, level="INFO", fmt="json")
    yield path
    release_logging()


def _lines(path: Path) -> list[dict[str, object]]:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_one_object_per_line_with_structured_fields(json_log: Path) -> None:
    log = logging.getLogger("fluenzr.sending.worker")
    log.info("account %s: sent %d", 7, 3, extra={"account_id": 7, "outcome": "sent"})
    log.warning("second line")
    first, second = _lines(json_log)
    assert first["level"] == "INFO" and first["logger"] == "fluenzr.sending.worker"
    assert first["message"] == "account 7: sent 3"
    assert first["account_id"] == 7 and first["outcome"] == "sent"
    assert str(first["timestamp"]).startswith("20")
    assert second["level"] == "WARNING" and second["message"] == "second line"


def test_secrets_never_reach_the_json_log(json_log: Path) -> None:
    log = logging.getLogger("fluenzr.test")
    log.info("C: AUTH PLAIN %s", "AGFuYQBodW50ZXIy")
    log.info("login", extra={"password": SECRET, "smtp": {"token": SECRET, "host": "h"}})
    log.info("reply", extra={"detail": f"535 bad password={SECRET}"})
    try:
        raise RuntimeError(f"password={SECRET}")
    except RuntimeError:
        log.exception("failed")
    text = json_log.read_text(encoding="utf-8")
    assert SECRET not in text and "AGFuYQBodW50ZXIy" not in text
    lines = _lines(json_log)
    assert lines[1]["password"] == "********"
    assert lines[1]["smtp"] == {"token": "********", "host": "h"}
    assert "exc_info" in lines[3]


def test_text_stays_the_default(tmp_path: Path) -> None:
    path = configure_logging(home=tmp_path)
    try:
        logging.getLogger("fluenzr.test").info("plain")
        for handler in logging.getLogger().handlers:
            handler.flush()
        line = path.read_text(encoding="utf-8").strip()
        assert line.endswith("INFO fluenzr.test: plain")
    finally:
        release_logging()


def test_settings_refuse_an_unknown_format_and_a_short_metrics_token(tmp_path: Path) -> None:
    assert load_settings(home=tmp_path, log_format="json").log_format == "json"
    with pytest.raises(ConfigError):
        load_settings(home=tmp_path, log_format="xml")
    with pytest.raises(ConfigError):
        load_settings(home=tmp_path, metrics_token="short")
