"""Probar before saving: the "+ SMTP" form's settings tested through the sending system.

The web role cannot open passwords, so the typed password is sealed with the vault's public
key for this one job (the context names the job) and written with the job; the sending system
opens it, runs the same steps as for a saved account, and the job keeps only the result: the
sealed password and the settings are wiped from the row when the job ends, whatever the outcome.
No account row is written.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import select

from fluenzr.core.egress import EgressPolicy
from fluenzr.core.endpoints import Endpoint, MailboxCredentials, Security, TlsPolicy
from fluenzr.core.secret import Secret
from fluenzr.diagnose.probar import ProbarSeams, default_seams, probe_mailbox
from fluenzr.diagnose.report import ProbarReport
from fluenzr.diagnose.runner import ProgressCallback
from fluenzr.services import account_rules
from fluenzr.services.account_config import AccountConfig, AccountInput, resolve
from fluenzr.services.context import AppContext
from fluenzr.services.job_rows import new_job
from fluenzr.storage.engine import transaction
from fluenzr.storage.models.users import Job

KIND = "probar_draft"
_NONCE_MAX = 64


def _context(job_id: int, field: str) -> str:
    return f"fluenzr:draft-probar:{job_id}:{field}"


def _settings(config: AccountConfig) -> dict[str, Any]:
    return {
        "email": config.email,
        "display_name": config.display_name,
        "smtp_host": config.smtp_host,
        "smtp_port": config.smtp_port,
        "smtp_security": config.smtp_security.value,
        "smtp_username": config.smtp_username,
        "smtp_auth": config.smtp_auth,
        "smtp_ca_pem": config.smtp_ca_pem,
        "pin_sha256": config.pin_sha256,
        "imap_host": config.imap_host,
        "imap_port": config.imap_port,
        "imap_security": config.imap_security.value if config.imap_security else None,
        "imap_username": config.imap_username,
        "imap_ca_pem": config.imap_ca_pem,
    }


def pending_with_nonce(ctx: AppContext, *, workspace_id: int, nonce: str) -> int | None:
    """A draft job of this form (``nonce``) still running: a double submit gets it back."""
    if not nonce:
        return None
    with ctx.sessions() as session:
        rows = session.execute(
            select(Job.id, Job.options).where(
                Job.workspace_id == workspace_id,
                Job.kind == KIND,
                Job.status != "done",
            )
        ).all()
    for job_id, options in rows:
        if json.loads(options or "{}").get("nonce") == nonce:
            return int(job_id)
    return None


def enqueue_draft(
    ctx: AppContext, *, workspace_id: int, data: AccountInput, nonce: str = ""
) -> int:
    """Validate the typed settings (same rules as saving) and queue a draft Probar; its id."""
    from fluenzr.services.jobs import check_probar_rate  # jobs runs drafts: no import cycle

    config = resolve(data)
    if config.smtp_auth:
        account_rules.password(data.password)
    nonce = nonce[:_NONCE_MAX]
    with transaction(ctx.sessions) as session:
        check_probar_rate(ctx, session, workspace_id=workspace_id)
        job = new_job(workspace_id=workspace_id, kind=KIND, now=ctx.clock.now())
        session.add(job)
        session.flush()
        sealed: dict[str, str | None] = {"smtp": None, "imap": None}
        if data.password is not None and data.password.reveal():
            sealed["smtp"] = _b64(ctx.vault.seal(data.password, context=_context(job.id, "smtp")))
        if data.imap_password is not None and data.imap_password.reveal() and config.imap_host:
            sealed["imap"] = _b64(
                ctx.vault.seal(data.imap_password, context=_context(job.id, "imap"))
            )
        job.options = json.dumps(
            {"nonce": nonce, "settings": _settings(config), "sealed": sealed},
            ensure_ascii=False,
        )
        return job.id


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _open(ctx: AppContext, job_id: int, sealed: dict[str, Any], field: str) -> Secret | None:
    text = sealed.get(field)
    if not text:
        return None
    return ctx.vault.open(base64.b64decode(text), context=_context(job_id, field))


def credentials(ctx: AppContext, *, job_id: int, options: dict[str, Any]) -> MailboxCredentials:
    """The draft's settings opened by the sending system (private key holder) for one run."""
    s = options["settings"]
    sealed = options.get("sealed") or {}
    password = _open(ctx, job_id, sealed, "smtp") or Secret("")
    egress = EgressPolicy(ctx.settings.egress_policy)
    smtp = Endpoint(
        host=s["smtp_host"],
        port=int(s["smtp_port"]),
        security=Security(s["smtp_security"]),
        username=s["smtp_username"],
        password=password,
        tls=TlsPolicy(ca_pem=s.get("smtp_ca_pem"), pin_sha256=s.get("pin_sha256")),
        authenticate=bool(s.get("smtp_auth", True)),
        egress=egress,
    )
    imap = None
    if s.get("imap_host"):
        imap = Endpoint(
            host=s["imap_host"],
            port=int(s["imap_port"]),
            security=Security(s["imap_security"]),
            username=s.get("imap_username") or s["smtp_username"],
            password=_open(ctx, job_id, sealed, "imap") or password,
            tls=TlsPolicy(ca_pem=s.get("imap_ca_pem"), pin_sha256=s.get("pin_sha256")),
            egress=egress,
        )
    return MailboxCredentials(
        account_id=0,
        workspace_id=0,
        email=s["email"],
        display_name=s["display_name"],
        smtp=smtp,
        imap=imap,
    )


async def run_draft(
    ctx: AppContext,
    *,
    job_id: int,
    options: dict[str, Any],
    on_step: ProgressCallback | None = None,
    seams: ProbarSeams | None = None,
) -> ProbarReport:
    """Run the steps; nothing is stored here (the job runner keeps the report)."""
    opened = credentials(ctx, job_id=job_id, options=options)
    return await probe_mailbox(
        opened,
        send=True,
        seams=seams or default_seams(ctx.settings),
        on_step=on_step,
        now=ctx.clock.now,
    )


def wipe_options(ctx: AppContext, job_id: int) -> None:
    """Forget the sealed password and the settings: the job keeps only its result."""
    with transaction(ctx.sessions) as session:
        job = session.get(Job, job_id)
        if job is not None and job.kind == KIND:
            job.options = "{}"
