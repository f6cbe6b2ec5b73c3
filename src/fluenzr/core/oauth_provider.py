"""An OAuth 2.0 provider as the transports see it (built from data by ``presets``)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    security: str


@dataclass(frozen=True)
class OAuthProvider:
    key: str
    name: str
    authorization_endpoint: str
    token_endpoint: str
    scopes: tuple[str, ...]
    authorize_params: tuple[tuple[str, str], ...]
    smtp: MailServer
    imap: MailServer
    mechanism: str
    client_id: str | None
    client_secret: SecretStr | None

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)

    def missing_scopes(self, granted: str | None) -> list[str]:
        """Scopes mail needs that a token response did not grant (``offline_access`` aside:
        Microsoft does not echo it back)."""
        have = set((granted or "").split())
        return [s for s in self.scopes if s not in have and s != "offline_access"]


__all__ = ["MailServer", "OAuthProvider"]
