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
            from fluenzr.config import load_settings  # lazy: pydantic-settings, ~0.1 s

            self._settings = load_settings(**self.overrides)
        return self._settings

    def app(self) -> AppContext:
        if self._app is None:
            from fluenzr.services.context import open_app  # lazy: SQLAlchemy, vault, models

            self._app = open_app(self.settings())
        return self._app

    def workspace_id(self) -> int:
        if self._workspace_id is None:
            from fluenzr.services.context import default_workspace_id  # lazy: see app()

            self._workspace_id = default_workspace_id(self.app().sessions)
        return self._workspace_id

    def close(self) -> None:
        self._workspace_id = None
        if self._app is not None:
            self._app.close()
            self._app = None


STATE = CliState()
