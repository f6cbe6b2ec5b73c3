"""Provider presets that fill the "+ SMTP" form, and detection from an email address."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from fluenzr.api.deps import CurrentUser, LangDep
from fluenzr.api.schemas import AutodetectRequest
from fluenzr.i18n import translate
from fluenzr.services import presets
from fluenzr.services.presets import Preset

router = APIRouter(tags=["presets"])


class PresetOut(BaseModel):
    key: str
    name: str
    smtp_host: str | None
    smtp_port: int | None
    smtp_security: str | None
    imap_host: str | None
    imap_port: int | None
    imap_security: str | None
    app_password_required: bool
    note: str | None


def preset_out(preset: Preset, lang: str) -> PresetOut:
    return PresetOut(
        **preset.model_dump(
            include={
                "key",
                "name",
                "smtp_host",
                "smtp_port",
                "smtp_security",
                "imap_host",
                "imap_port",
                "imap_security",
                "app_password_required",
            }
        ),
        note=translate(preset.note_key, lang) if preset.note_key else None,
    )


@router.get("/presets", response_model=list[PresetOut])
def list_presets(_user: CurrentUser, lang: LangDep) -> list[PresetOut]:
    return [preset_out(p, lang) for p in presets.list_presets()]


@router.get("/presets/{key}", response_model=PresetOut)
def get_preset(key: str = Path(max_length=40), *, _user: CurrentUser, lang: LangDep) -> PresetOut:
    return preset_out(presets.get_preset(key), lang)


def autodetect_settings(email: str, lang: str) -> dict[str, Any]:
    """Fields for the form from an address: the autodetect service when present, else presets."""
    from fluenzr.services.account_rules import email as check_email

    address = check_email(email)
    domain = address.rsplit("@", 1)[1]
    preset = presets.match_preset(domain)
    found: dict[str, Any] = {"email": address, "username": address, "source": "none"}
    if preset is not None:
        found.update(preset_out(preset, lang).model_dump(exclude={"key", "name", "note"}))
        found.update(preset=preset.key, source="preset", note=preset_out(preset, lang).note)
    return found


@router.post("/autodetect")
def autodetect(body: AutodetectRequest, _user: CurrentUser, lang: LangDep) -> dict[str, Any]:
    """Guess server settings from an email address (preset by domain)."""
    return autodetect_settings(body.email, lang)
