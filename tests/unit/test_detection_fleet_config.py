"""The fleet settings reach detection, clamped: lease timeout, per-host connection set-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluenzr.config import load_settings
from fluenzr.detection.config import DetectionConfig, from_settings


def test_fleet_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLUENZR_DETECT_LEASE_TTL", "15")
    monkeypatch.setenv("FLUENZR_DETECT_CONNECT_PER_HOST", "3")
    monkeypatch.setenv("FLUENZR_DETECT_CONNECT_STAGGER", "0.2")
    config = from_settings(load_settings(home=tmp_path))
    assert (config.lease_ttl, config.connect_per_host, config.connect_stagger) == (15.0, 3, 0.2)


def test_fleet_settings_clamped() -> None:
    config = DetectionConfig(lease_ttl=0.01, connect_per_host=0, connect_stagger=-1).clamped()
    assert (config.lease_ttl, config.connect_per_host, config.connect_stagger) == (0.5, 1, 0.0)
    assert DetectionConfig().lease_ttl == 60.0
