"""Per-invocation CLI state: global options and the lazily opened app context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fluenzr.config import Settings, load_settings
from fluenzr.services.context import AppContext, default_workspace_id, open_app


@dataclass
class CliState:
    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None
    _app: AppContext | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(**self.overrides)
        return self._settings

    def app(self) -> AppContext:
        if self._app is None:
            self._app = open_app(self.settings())
        return self._app

    def workspace_id(self) -> int:
        return default_workspace_id(self.app().sessions)

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None


STATE = CliState()
