"""Probar for one mailbox: the ordered steps, the test email, port suggestions, the report.

Order: dns → tcp → tls → ehlo → auth → send, then (with IMAP) imap_dns → imap_tcp → imap_tls →
imap_login → imap_inbox → imap_sent, then (``ProbarSeams.deliverability``) the deliverability
steps of :mod:`fluenzr.diagnose.deliverability_steps`, which warn but never fail. The first
failure stops the run. When the failure is one where another port may work (refused, silent,
wrong TLS mode), the standard submission ports are probed — started early, as soon as the
server is slow to answer, so a silent port costs one timeout, not two.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from fluenzr.config import Settings
from fluenzr.core.egress import EgressPolicy
from fluenzr.core.endpoints import MailboxCredentials, Security
from fluenzr.diagnose import deliverability_steps, imap_checks, smtp_checks
from fluenzr.diagnose.greeting_probe import GreetingProbe, ProbeFunc
from fluenzr.diagnose.port_suggestions import (
    STANDARD_IMAP,
    STANDARD_SUBMISSION,
    TRIGGERS,
    PortSuggestion,
    suggest_port,
)
from fluenzr.diagnose.report import ProbarReport
from fluenzr.diagnose.resolve import DnsLookup, lookup_for
from fluenzr.diagnose.runner import Done, ProgressCallback, Skip, Status, Step, run_steps
from fluenzr.error_codes import ErrorCode
from fluenzr.i18n import translate


@dataclass
class ProbarSeams:
    """Network access and time limits; tests aim the lookup at a local DNS server and the
    standard ports at local ones."""

    lookup: DnsLookup
    probe: ProbeFunc
    smtp_timeout: float = 10.0
    imap_timeout: float = 10.0
    test_mail_wait: float = 20.0
    # Silence after which Probar checks whether the port speaks the other TLS mode.
    mismatch_after: float = 1.5
    standard_ports: Sequence[tuple[int, Security]] = STANDARD_SUBMISSION
    standard_imap_ports: Sequence[tuple[int, Security]] = STANDARD_IMAP
    # The deliverability steps (docs/deliverability.md); tests of the connection steps leave
    # them out, default_seams turns them on.
    deliverability: bool = False
    dnsbl_zones: Sequence[str] = ()


def default_seams(settings: Settings) -> ProbarSeams:
    lookup = lookup_for(settings, timeout=settings.smtp_timeout)
    return ProbarSeams(
        lookup=lookup,
        probe=GreetingProbe(
            lookup=lookup,
            timeout=settings.probe_timeout,
            egress=EgressPolicy(settings.egress_policy),
        ),
        smtp_timeout=settings.smtp_timeout,
        imap_timeout=settings.imap_timeout,
        test_mail_wait=settings.test_mail_wait,
        mismatch_after=min(1.5, settings.probe_timeout),
        deliverability=True,
        dnsbl_zones=[z for z in settings.dnsbl_zones.split(",") if z],
    )


def probar_message(credentials: MailboxCredentials, *, now: datetime) -> EmailMessage:
    """The email Probar sends to the account itself (stdlib email API)."""
    local, domain = credentials.email.rsplit("@", 1)
    # A non-ASCII address needs SMTPUTF8 (RFC 6531/6532): raw UTF-8 headers.
    utf8 = not credentials.email.isascii()
    message = EmailMessage(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
    message["From"] = Address(credentials.display_name, username=local, domain=domain)
    message["To"] = Address(username=local, domain=domain)
    message["Subject"] = f"{translate('probar.subject')} {now:%Y-%m-%d %H:%M:%S} UTC"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(idstring="probar", domain=domain.encode("idna").decode())
    # RFC 3834: an automatic message; vacation responders must not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(translate("probar.body", email=credentials.email))
    return message


@dataclass
class _Run:
    credentials: MailboxCredentials
    seams: ProbarSeams
    send: bool
    now: Callable[[], datetime]
    smtp: smtp_checks.SmtpRun
    imap: imap_checks.ImapRun | None
    sent: bool = False
    message_id: str | None = None
    alternatives: asyncio.Task[PortSuggestion | None] | None = field(default=None)
    deliverability: deliverability_steps.DeliverabilityRun | None = None

    def probe_alternatives_early(self) -> None:
        """The server is slow: start probing the other ports now, in case it never answers."""
        if self.alternatives is None:
            self.alternatives = _start_alternatives(self, ErrorCode.CONNECTION_REFUSED)


def _start_alternatives(
    run: _Run, code: ErrorCode, *, imap: bool = False
) -> asyncio.Task[PortSuggestion | None]:
    endpoint = run.credentials.imap if imap else run.credentials.smtp
    assert endpoint is not None
    return asyncio.ensure_future(
        suggest_port(
            run.seams.probe,
            host=endpoint.host,
            port=endpoint.port,
            security=endpoint.security,
            code=code,
            standard=run.seams.standard_imap_ports if imap else run.seams.standard_ports,
            protocol="imap" if imap else "smtp",
        )
    )


async def _send(run: _Run) -> Done:
    if not run.send:
        raise Skip(translate("probar.no_send"))
    message = probar_message(run.credentials, now=run.now())
    reply = await smtp_checks.send_message(run.smtp, message)
    run.sent = True
    run.message_id = str(message["Message-ID"])
    if run.imap is not None:
        run.imap.message_id = run.message_id
    return Done(f"{run.message_id} → {reply}")


async def _inbox(run: _Run) -> Done:
    assert run.imap is not None
    reason = translate("probar.no_send") if not run.send else ""
    return await imap_checks.step_inbox(run.imap, skip_reason=reason)


def _steps(run: _Run) -> list[Step[_Run]]:
    smtp = run.smtp
    steps: list[Step[_Run]] = [
        Step("dns", lambda r: smtp_checks.step_dns(smtp)),
        Step("tcp", lambda r: smtp_checks.step_tcp(smtp)),
        Step("tls", lambda r: smtp_checks.step_tls(smtp)),
        Step("ehlo", lambda r: smtp_checks.step_ehlo(smtp)),
        Step("auth", lambda r: smtp_checks.step_auth(smtp)),
        Step("send", _send),
    ]
    imap = run.imap
    if imap is not None:
        steps += [
            Step("imap_dns", lambda r: imap_checks.step_dns(imap)),
            Step("imap_tcp", lambda r: imap_checks.step_tcp(imap)),
            Step("imap_tls", lambda r: imap_checks.step_tls(imap)),
            Step("imap_login", lambda r: imap_checks.step_login(imap)),
            Step("imap_inbox", _inbox),
            Step("imap_sent", lambda r: imap_checks.step_sent(imap)),
        ]
    deliverability = run.deliverability
    if deliverability is not None:
        steps += [
            Step(name, lambda r, f=func: f(deliverability))  # type: ignore[misc]
            for name, func in deliverability_steps.STEPS
        ]
    return steps


def _build(
    credentials: MailboxCredentials,
    *,
    seams: ProbarSeams,
    send: bool,
    now: Callable[[], datetime],
    provider_key: str | None = None,
) -> _Run:
    smtp = smtp_checks.SmtpRun(
        endpoint=credentials.smtp,
        email=credentials.email,
        lookup=seams.lookup,
        seconds=seams.smtp_timeout,
        mismatch_after=seams.mismatch_after,
    )
    imap = None
    if credentials.imap is not None:
        imap = imap_checks.ImapRun(
            endpoint=credentials.imap,
            lookup=seams.lookup,
            seconds=seams.imap_timeout,
            wait=seams.test_mail_wait,
        )
    run = _Run(credentials, seams, send, now, smtp, imap)
    if seams.deliverability:
        run.deliverability = deliverability_steps.DeliverabilityRun(
            lookup=seams.lookup,
            domain=credentials.email.rsplit("@", 1)[1].lower(),
            raw_mail=lambda: imap.raw_mail if imap is not None else None,
            provider_key=provider_key,
            dnsbl_zones=seams.dnsbl_zones,
        )
    return run


async def _suggestion(run: _Run, code: ErrorCode | None, step: str | None) -> PortSuggestion | None:
    """A measured alternative port, for connection-level failures only."""
    if code is not None and code in TRIGGERS and step in {"imap_tcp", "imap_tls"}:
        return await _start_alternatives(run, code, imap=True)
    if code not in TRIGGERS or step not in {"tcp", "tls"}:
        if run.alternatives is not None:
            run.alternatives.cancel()
        return None
    task = run.alternatives or _start_alternatives(run, code)
    if run.alternatives is not None and code is ErrorCode.TLS_MODE_MISMATCH:
        # The early probes did not include "same port, other mode"; ask again precisely.
        task.cancel()
        task = _start_alternatives(run, code)
    return await task


async def probe_mailbox(
    credentials: MailboxCredentials,
    *,
    send: bool,
    seams: ProbarSeams,
    on_step: ProgressCallback | None = None,
    now: Callable[[], datetime],
    provider_key: str | None = None,
) -> ProbarReport:
    """Run every step against the account's servers and return the report (never raises for a
    mail failure: that is the report's ``error``)."""
    tested_at = now()
    run = _build(credentials, seams=seams, send=send, now=now, provider_key=provider_key)
    run.smtp.on_slow = run.probe_alternatives_early
    try:
        outcome = await run_steps(_steps(run), run, on_step=on_step)
        failed = next((s for s in outcome.steps if s.status is Status.FAILED), None)
        code = outcome.error.code if outcome.error else None
        suggestion = await _suggestion(run, code, failed.name if failed else None)
    finally:
        await smtp_checks.close(run.smtp)
        if run.imap is not None:
            await imap_checks.close(run.imap)
        if run.alternatives is not None and not run.alternatives.done():
            run.alternatives.cancel()
            with contextlib.suppress(BaseException):
                await run.alternatives
    return ProbarReport(
        account_id=credentials.account_id,
        email=credentials.email,
        tested_at=tested_at,
        steps=outcome.steps,
        error=outcome.error,
        suggestion=suggestion,
        duration_ms=outcome.duration_ms,
        sent=run.sent,
        message_id=run.message_id,
        warnings=[s for s in outcome.steps if s.status is Status.WARNING],
        deliverability=run.deliverability.report(tested_at) if run.deliverability else None,
    )
