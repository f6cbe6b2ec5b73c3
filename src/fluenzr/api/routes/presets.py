"""Provider presets that fill the "+ SMTP" form, and detection from an email address."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from fluenzr.api.schemas import AutodetectRequest
from fluenzr.http.deps import CurrentUser, LangDep, autodetect_seams
from fluenzr.i18n import translate
from fluenzr.presets import catalogue
from fluenzr.presets.catalogue import Preset
from fluenzr.services.account_autodetect import detect_settings

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
    return [preset_out(p, lang) for p in catalogue.list_presets()]


@router.get("/presets/{key}", response_model=PresetOut)
def get_preset(key: str = Path(max_length=40), *, _user: CurrentUser, lang: LangDep) -> PresetOut:
    return preset_out(catalogue.get_preset(key), lang)


@router.post("/autodetect")
async def autodetect_route(
    body: AutodetectRequest, request: Request, _user: CurrentUser, lang: LangDep
) -> dict[str, Any]:
    """Propose server settings for an address; ``detection`` says where each came from."""
    return await detect_settings(body.email, seams=autodetect_seams(request), lang=lang)
