"""Provider presets, read from the packaged presets.toml (data, not code)."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from pydantic import BaseModel, ConfigDict

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError


class Preset(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: str | None = None
    imap_host: str | None = None
    imap_port: int | None = None
    imap_security: str | None = None
    domains: tuple[str, ...] = ()
    mx_suffixes: tuple[str, ...] = ()
    app_password_required: bool = False
    self_signed_certificate: bool = False
    note_key: str | None = None
    spf_include: str | None = None  # what customers `include:` in SPF (deliverability checks)

    @property
    def is_custom(self) -> bool:
        return self.smtp_host is None


@functools.cache
def _load() -> dict[str, Preset]:
    text = resources.files("fluenzr.presets").joinpath("presets.toml").read_text("utf-8")
    return {key: Preset(key=key, **value) for key, value in tomllib.loads(text).items()}


def list_presets() -> list[Preset]:
    return list(_load().values())


def get_preset(key: str) -> Preset:
    preset = _load().get(key.strip().lower())
    if preset is None:
        raise ValidationError(
            ErrorCode.PRESET_UNKNOWN,
            params={"field": "preset", "value": key, "choices": ", ".join(_load())},
        )
    return preset


def match_preset(domain: str) -> Preset | None:
    """The preset serving an address domain (e.g. 'zoho.eu'), if any."""
    wanted = domain.strip().lower().rstrip(".")
    for preset in _load().values():
        if wanted in preset.domains:
            return preset
    return None


def match_mx(mx_host: str) -> Preset | None:
    """The preset whose provider runs this MX host (for custom domains)."""
    host = mx_host.strip().lower().rstrip(".")
    for preset in _load().values():
        if any(host.endswith(suffix) for suffix in preset.mx_suffixes):
            return preset
    return None


class MailProvider(BaseModel):
    """A provider as the deliverability checks see it: recognised from MX, with its SPF include."""

    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    mx_suffixes: tuple[str, ...] = ()
    spf_include: str | None = None


@functools.cache
def _providers() -> tuple[MailProvider, ...]:
    text = resources.files("fluenzr.presets").joinpath("mail_providers.toml").read_text("utf-8")
    extra = [MailProvider(key=key, **value) for key, value in tomllib.loads(text).items()]
    from_presets = [
        MailProvider(key=p.key, name=p.name, mx_suffixes=p.mx_suffixes, spf_include=p.spf_include)
        for p in _load().values()
        if p.mx_suffixes
    ]
    return (*from_presets, *extra)


def provider_for_mx(mx_host: str) -> MailProvider | None:
    """The provider running this MX host (presets first, then Google, Microsoft…)."""
    host = mx_host.strip().lower().rstrip(".")
    for provider in _providers():
        if any(host.endswith(suffix) for suffix in provider.mx_suffixes):
            return provider
    return None


def provider_by_key(key: str | None) -> MailProvider | None:
    """The provider of a preset key (the account's ``provider``), if it has SPF data."""
    return next((p for p in _providers() if p.key == key), None)
