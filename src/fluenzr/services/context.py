"""The application context: settings, database and vault, built once by an entry point."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from fluenzr.config import Settings
from fluenzr.core.clock import Clock
from fluenzr.logs import configure_logging, release_logging
from fluenzr.storage.engine import check_connection, make_engine, make_session_factory
from fluenzr.storage.models import Workspace
from fluenzr.storage.schema import ensure_schema
from fluenzr.vault import Vault, load_keyring
from fluenzr.vault.keyring import ensure_keys


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    vault: Vault
    clock: Clock = field(default_factory=Clock)

    def close(self) -> None:
        self.engine.dispose()
        release_logging()


def _prepare_home(settings: Settings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(settings.home, 0o700)


def default_workspace_id(sessions: sessionmaker[Session]) -> int:
    """The first workspace (created on first run); the CLI acts in it."""
    with sessions() as session:
        found = session.scalar(select(Workspace.id).order_by(Workspace.id).limit(1))
        if found is not None:
            return found
        workspace = Workspace(name="Default")
        session.add(workspace)
        session.commit()
        return workspace.id


def open_app(settings: Settings, *, migrate: bool = True) -> AppContext:
    """Create the home, keys and database on first use (idempotent) and return the context."""
    _prepare_home(settings)
    configure_logging(home=settings.home, level=settings.log_level)
    keys_from_env = bool(settings.vault_public_key or settings.vault_private_keys)
    if not keys_from_env and not settings.vault_read_only:
        ensure_keys(settings.keys_dir)
    keyring = load_keyring(
        settings.keys_dir,
        public_b64=settings.vault_public_key,
        private_b64=settings.vault_private_keys,
        read_only=settings.vault_read_only,
    )
    engine = make_engine(settings.effective_database_url)
    check_connection(engine)
    if migrate:
        ensure_schema(engine)
    sessions = make_session_factory(engine)
    default_workspace_id(sessions)
    return AppContext(settings=settings, engine=engine, sessions=sessions, vault=Vault(keyring))
