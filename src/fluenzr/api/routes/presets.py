"""Provider presets that fill the "+ SMTP" form, and detection from an email address."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from fluenzr.api.deps import CurrentUser, LangDep, get_ctx
from fluenzr.api.schemas import AutodetectRequest
from fluenzr.diagnose.autodetect import autodetect, default_seams
from fluenzr.i18n import translate
from fluenzr.presets import catalogue
from fluenzr.presets.catalogue import Preset

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


async def detect_settings(request: Request, email: str, lang: str) -> dict[str, Any]:
    """Fields for the "+ SMTP" form from an address: presets first, then the domain's published
    settings (autoconfig, SRV, MX) and finally probing likely hosts (fluenzr.diagnose)."""
    seams = getattr(request.app.state, "autodetect_seams", None)
    if seams is None:
        seams = default_seams(get_ctx(request).settings)
    detection = (await autodetect(email, seams=seams)).to_dict()
    fields: dict[str, Any] = {
        "email": detection["email"],
        "username": detection["email"],
        "source": "none",
        "detection": detection,
    }
    for protocol in ("smtp", "imap"):
        chosen = detection.get(protocol)
        if not chosen:
            continue
        fields[f"{protocol}_host"] = chosen["host"]
        fields[f"{protocol}_port"] = chosen["port"]
        fields[f"{protocol}_security"] = chosen["security"]
        if protocol == "smtp":
            fields["username"] = chosen["username"] or detection["email"]
            fields["source"] = chosen["source"]
            fields["preset"] = chosen.get("provider")
    key = fields.get("preset")
    preset = next((p for p in catalogue.list_presets() if p.key == key), None) if key else None
    if preset is not None:
        fields["app_password_required"] = preset.app_password_required
        fields["note"] = preset_out(preset, lang).note
    return fields


@router.post("/autodetect")
async def autodetect_route(
    body: AutodetectRequest, request: Request, _user: CurrentUser, lang: LangDep
) -> dict[str, Any]:
    """Propose server settings for an address; ``detection`` says where each came from."""
    return await detect_settings(request, body.email, lang)
