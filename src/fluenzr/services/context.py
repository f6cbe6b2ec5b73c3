"""The application context: settings, database and vault, built once by an entry point.

The session factory (the ORM) and the vault (cryptography, the key files) are built on first
use: a CLI command that reads no secret and writes through no model — ``fluenzr accounts list``
— never imports them (start-up time, docs/cli.md). What ``open_app`` checks eagerly is unchanged:
the home, the key files existing (first run creates them), the database connection, the schema.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from fluenzr.config import Settings
from fluenzr.core.clock import Clock
from fluenzr.logs import configure_logging, release_logging
from fluenzr.storage.account_reads import first_workspace_id
from fluenzr.storage.engine import check_connection, make_engine
from fluenzr.storage.schema import ensure_schema

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from fluenzr.vault import Keyring, Vault

# The file that says the vault has keys (fluenzr.vault.keyring.PUBLIC_FILE; a unit test checks
# the two agree): looked for here so a start-up that needs no key does not import cryptography.
PUBLIC_KEY_FILE = "current.pub"


class AppContext:
    """Settings, engine, the session factory and the vault (the last two built on first use)."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        vault: Vault | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock or Clock()
        self._sessions: sessionmaker[Session] | None = None
        self._vault = vault

    # Plain properties with setters (not cached_property): the domain's Protocols (sending's
    # Runtime, detection's WebhookRuntime) declare these as settable attributes.
    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            from fluenzr.storage.engine import make_session_factory  # lazy: the ORM, ~0.15 s

            self._sessions = make_session_factory(self.engine)
        return self._sessions

    @sessions.setter
    def sessions(self, value: sessionmaker[Session]) -> None:
        self._sessions = value

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            from fluenzr.vault import Vault  # lazy: cryptography, only where a secret is used

            self._vault = Vault(_load_keyring(self.settings))
        return self._vault

    @vault.setter
    def vault(self, value: Vault) -> None:
        self._vault = value

    def close(self) -> None:
        self.engine.dispose()
        release_logging()


def _prepare_home(settings: Settings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(settings.home, 0o700)


def _keys_from_env(settings: Settings) -> bool:
    return bool(settings.vault_public_key or settings.vault_private_keys)


def _ensure_keys(settings: Settings) -> None:
    """First run: generate the key pair (the existence check needs no cryptography)."""
    if _keys_from_env(settings) or settings.vault_read_only:
        return
    if not (settings.keys_dir / PUBLIC_KEY_FILE).exists():
        from fluenzr.vault.keyring import ensure_keys  # lazy: cryptography; first run only

        ensure_keys(settings.keys_dir)


def _load_keyring(settings: Settings) -> Keyring:
    from fluenzr.vault import load_keyring  # lazy: see AppContext.vault

    return load_keyring(
        settings.keys_dir,
        public_b64=settings.vault_public_key,
        private_b64=settings.vault_private_keys,
        read_only=settings.vault_read_only,
    )


def default_workspace_id(sessions: sessionmaker[Session]) -> int:
    """The first workspace (created on first run); the CLI acts in it."""
    from sqlalchemy import select

    from fluenzr.storage.models import Workspace  # lazy: every model module; see open_app

    with sessions() as session:
        found = session.scalar(select(Workspace.id).order_by(Workspace.id).limit(1))
        if found is not None:
            return found
        workspace = Workspace(name="Default")
        session.add(workspace)
        session.commit()
        return workspace.id


def workspace_id(ctx: AppContext) -> int:
    """:func:`default_workspace_id` with one Core SELECT when the workspace exists (always but
    on the first run), so choosing it imports no model."""
    found = first_workspace_id(ctx.engine)
    return found if found is not None else default_workspace_id(ctx.sessions)


def open_app(settings: Settings, *, migrate: bool = True, lazy_vault: bool = False) -> AppContext:
    """Create the home, keys and database on first use (idempotent) and return the context.

    ``lazy_vault``: load the keyring on first use of ``ctx.vault`` instead of now (the CLI: a
    bad key file then fails the commands that use a key, not ``accounts list``). Servers and
    workers keep the default, so a broken keyring stops them at start.
    """
    _prepare_home(settings)
    configure_logging(home=settings.home, level=settings.log_level, fmt=settings.log_format)
    _ensure_keys(settings)
    vault = None
    if not lazy_vault:
        from fluenzr.vault import Vault  # lazy only for the CLI's sake; see AppContext.vault

        vault = Vault(_load_keyring(settings))  # now: a bad keyring stops a server at start
    engine = make_engine(settings.effective_database_url)
    check_connection(engine)
    if migrate:
        ensure_schema(engine)
    ctx = AppContext(settings=settings, engine=engine, vault=vault)
    workspace_id(ctx)
    return ctx
