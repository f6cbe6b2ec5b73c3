"""Per-invocation CLI state: global options and the lazily opened app context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fluenzr.config import Settings
    from fluenzr.services.context import AppContext


@dataclass
class CliState:
    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None
    _app: AppContext | None = None
    _workspace_id: int | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            from fluenzr.config import load_settings  # lazy: tomllib, platformdirs

            self._settings = load_settings(**self.overrides)
        return self._settings

    def app(self) -> AppContext:
        if self._app is None:
            from fluenzr.services.context import open_app  # lazy: SQLAlchemy

            # The vault (cryptography) loads when a command first seals or opens a secret.
            self._app = open_app(self.settings(), lazy_vault=True)
        return self._app

    def workspace_id(self) -> int:
        if self._workspace_id is None:
            from fluenzr.services.context import workspace_id  # lazy: see app()

            self._workspace_id = workspace_id(self.app())
        return self._workspace_id

    def close(self) -> None:
        self._workspace_id = None
        if self._app is not None:
            self._app.close()
            self._app = None


STATE = CliState()
