"""Shared fixtures: an isolated FluenzR home per test, on SQLite or a fresh PostgreSQL database."""

from __future__ import annotations

import gc
import os
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


# Per item as it is collected: before pytest-xdist turns the marks into groups (it does that in
# pytest_collection_modifyitems, whose order against a conftest's is not to be relied on).
def pytest_itemcollected(item: pytest.Item) -> None:
    """Under pytest-xdist, the tests of a module that use a module-, package- or class-scoped
    fixture run on one worker, in file order: such a fixture holds state the tests build on (a
    browser tab, a live server with its data), and would otherwise be set up on every worker.
    An explicit ``xdist_group`` mark wins (see docs/testing.md)."""
    if item.get_closest_marker("xdist_group") is not None:
        return
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return
    scopes = {defs[-1].scope for defs in info.name2fixturedefs.values() if defs}
    if scopes & {"module", "package", "class"}:
        module = item.nodeid.split("::")[0].replace("/", ".")
        item.add_marker(pytest.mark.xdist_group(f"module-{module}"))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give an ``xdist_group`` test its ``@group`` node-id suffix, which is how --dist loadgroup
    tells groups apart. pytest-xdist 3.8 sets it on ``item._nodeid``, which pytest 9.2 no longer
    reads (``nodeid`` comes from ``item._id``), so without this every group is silently spread
    over the workers. A no-op outside an xdist worker, and once xdist sets it itself."""
    from _pytest.nodeid import coerce_node_id

    # Schemathesis names each operation's item ``test_x[GET /path]`` but leaves every node id
    # ``…::test_x``: pytest-xdist schedules by node id, so 59 operations ran as one.
    for item in items:
        base = item.nodeid.rsplit("::", 1)
        if len(base) == 2 and "[" in item.name and base[1] != item.name:
            item._id = coerce_node_id(f"{base[0]}::{item.name}")  # type: ignore[attr-defined]
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        names = sorted(
            {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
        )
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix):
            item._id = coerce_node_id(item.nodeid + suffix)  # type: ignore[attr-defined]


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
    monkeypatch.delenv("FLUENZR_DNSBL_ZONES", raising=False)


@pytest.fixture(autouse=True)
def _collect_garbage_after_test() -> Iterator[None]:
    """Collect after each test when FLUENZR_TEST_GC=1, so an unclosed socket or transport left
    in a reference cycle is reported against the test that leaked it, not a later one."""
    yield
    if os.environ.get("FLUENZR_TEST_GC") == "1":
        gc.collect()


@pytest.fixture(scope="session")
def _empty_dns() -> Iterator[int]:
    from tests.support.zone_server import ZoneServer

    with ZoneServer("") as server:
        yield server.port


@pytest.fixture(autouse=True)
def _loopback_dns(monkeypatch: pytest.MonkeyPatch, _empty_dns: int) -> None:
    """DNS lookups of code built from settings (Probar's deliverability steps, autodetect) go to
    a local authoritative server with no zones (every name NXDOMAIN), never to the internet.
    Tests that need records serve their own zone (tests.support.zone_server)."""
    monkeypatch.setenv("FLUENZR_DNS_SERVERS", f"127.0.0.1:{_empty_dns}")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


DB_PARAMS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DB_PARAMS)
def blank_db_url(request: pytest.FixtureRequest, home: Path) -> Iterator[str]:
    """An empty database (no tables), once on SQLite and once on PostgreSQL: for the tests of
    migrations and of the schema check itself."""
    if request.param == "sqlite":
        yield f"sqlite:///{home / 'fluenzr.db'}"
    else:
        from tests.support.services import fresh_pg_database

        with fresh_pg_database() as url:
            yield url


@pytest.fixture(scope="session")
def _migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Databases migrated to head once per session, copied for each test that needs one.

    Running the eight migrations costs 1-3 s per test (more than most tests); a copy of a
    migrated SQLite file, or ``CREATE DATABASE … TEMPLATE`` on PostgreSQL, is the same schema
    for a few milliseconds. The migrations themselves are tested on ``blank_db_url``."""
    from tests.support.services import migrated_templates

    with migrated_templates(tmp_path_factory.mktemp("db-template")) as templates:
        yield templates


def _copy_sqlite_template(templates: dict[str, str], home: Path) -> None:
    import shutil

    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = home / "fluenzr.db"
    if not target.exists():
        shutil.copyfile(templates["sqlite"], target)


@pytest.fixture(params=DB_PARAMS)
def db_url(
    request: pytest.FixtureRequest, home: Path, _migrated_templates: dict[str, str]
) -> Iterator[str]:
    """Run the test once on SQLite and once on a fresh PostgreSQL database (at head)."""
    if request.param == "sqlite":
        _copy_sqlite_template(_migrated_templates, home)
        yield f"sqlite:///{home / 'fluenzr.db'}"
    else:
        from tests.support.services import fresh_pg_database

        with fresh_pg_database(template=_migrated_templates.get("postgres")) as url:
            yield url


@pytest.fixture
def settings(home: Path) -> Settings:
    from fluenzr.config import load_settings

    return load_settings(home=home)


@pytest.fixture
def app(settings: Settings, _migrated_templates: dict[str, str]) -> Iterator[AppContext]:
    """An initialised app on SQLite in a temporary home."""
    from fluenzr.services.context import open_app

    _copy_sqlite_template(_migrated_templates, settings.home)
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
