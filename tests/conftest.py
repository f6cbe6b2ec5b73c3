"""Shared fixtures: an isolated FluenzR home per test, on SQLite or a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support import loopback_guard

if TYPE_CHECKING:
    from fluenzr.config import Settings
    from fluenzr.services.context import AppContext

# The application and database imports live in the fixtures that use them, so a unit-test run
# (`./dev test tests/unit`) does not pay for SQLAlchemy, Alembic and the services at start-up.

pytest_plugins = ["tests.support.mailservers"]


def pytest_configure(config: pytest.Config) -> None:
    loopback_guard.install()


@pytest.fixture(autouse=True)
def _only_loopback() -> Iterator[None]:
    """Fail any test whose code tried to reach a non-loopback address (it was blocked)."""
    before = len(loopback_guard.attempts)
    yield
    tried = loopback_guard.attempts[before:]
    assert not tried, f"non-loopback network access attempted: {tried[:5]}"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's real home, config or language."""
    for var in (
        "FLUENZR_HOME",
        "FLUENZR_DATABASE_URL",
        "FLUENZR_CONFIG",
        "FLUENZR_LANG",
        "FLUENZR_VAULT_PUBLIC_KEY",
        "FLUENZR_VAULT_PRIVATE_KEYS",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, home: Path) -> Iterator[str]:
    """Run the test once on SQLite and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{home / 'fluenzr.db'}"
    else:
        from tests.support.services import fresh_pg_database

        with fresh_pg_database() as url:
            yield url


@pytest.fixture
def settings(home: Path) -> Settings:
    from fluenzr.config import load_settings

    return load_settings(home=home)


@pytest.fixture
def app(settings: Settings) -> Iterator[AppContext]:
    """An initialised app on SQLite in a temporary home."""
    from fluenzr.services.context import open_app

    ctx = open_app(settings)
    yield ctx
    ctx.close()


@pytest.fixture
def app_any_db(home: Path, db_url: str) -> Iterator[AppContext]:
    """An initialised app on each database (SQLite, then PostgreSQL)."""
    from fluenzr.config import load_settings
    from fluenzr.services.context import open_app

    ctx = open_app(load_settings(home=home, database_url=db_url))
    yield ctx
    ctx.close()
