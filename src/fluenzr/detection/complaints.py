"""Feedback-loop complaints: ARF reports (RFC 5965), a recipient marking our mail as spam.

A report is ``multipart/report; report-type=feedback-report`` with three parts: a human
explanation, a ``message/feedback-report`` block of fields (``Feedback-Type``, ``User-Agent``,
``Version``, and optionally ``Original-Rcpt-To``, ``Original-Mail-From``, ``Arrival-Date``,
``Source-IP``, ``Reported-Domain``), and the original (``message/rfc822`` or
``text/rfc822-headers``). The complainant is ``Original-Rcpt-To`` (RFC 5965 §3.2; RFC 6650
asks providers to include it) or the older ``Removal-Recipient``, else the original's sole
``To``. Providers often redact it: then matching falls back to the original's Message-ID.
``Feedback-Type: auth-failure`` (RFC 6591, DMARC/SPF failure reports) and ``not-spam`` are
not complaints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses

from fluenzr.detection.bounces import original_headers, original_message_id
from fluenzr.detection.message import (
    content_type,
    header,
    param,
    parse_headers,
    part_text,
    walk,
)

COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})
_FIELDS = (
    "Feedback-Type",
    "User-Agent",
    "Version",
    "Original-Rcpt-To",
    "Removal-Recipient",
    "Original-Mail-From",
    "Arrival-Date",
    "Reporting-MTA",
    "Source-IP",
    "Reported-Domain",
)


@dataclass(frozen=True)
class Complaint:
    feedback_type: str
    complainant: str | None
    original_message_id: str | None
    fields: dict[str, str] = field(default_factory=dict)


def is_feedback_report(msg: Message) -> bool:
    return content_type(msg) == "multipart/report" and param(msg, "report-type") == (
        "feedback-report"
    )


def detect(msg: Message, *, own_addresses: frozenset[str] = frozenset()) -> Complaint | None:
    """The complaint this message reports, or None (not ARF, or not a complaint type)."""
    if not is_feedback_report(msg):
        return None
    report = _report_fields(msg)
    kind = report.get("feedback-type", "").split()[0].lower() if report else ""
    if kind not in COMPLAINT_TYPES:
        return None
    original = original_headers(msg)
    return Complaint(
        feedback_type=kind,
        complainant=_complainant(report, original, own=own_addresses),
        original_message_id=original_message_id(msg, original),
        fields={k: v[:300] for k, v in report.items() if k != "feedback-type"},
    )


def _report_fields(msg: Message) -> dict[str, str]:
    for part in walk(msg):
        if content_type(part) != "message/feedback-report":
            continue
        payload = part.get_payload()
        block = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(block, Message):
            block = parse_headers(part_text(part).encode("utf-8", "replace"))
        found = {name.lower(): header(block, name) for name in _FIELDS}
        return {k: v for k, v in found.items() if v}
    return {}


def _complainant(
    report: dict[str, str], original: dict[str, str], *, own: frozenset[str]
) -> str | None:
    for name in ("original-rcpt-to", "removal-recipient"):
        value = report.get(name, "").strip().strip("<>").lower()
        value = value.rpartition(";")[2].strip()  # "rfc822; a@b" in some reports
        if "@" in value and value not in own and not _redacted(value):
            return value
    try:
        pairs = getaddresses([original.get("to", "")])
    except Exception:
        return None
    found = [a.lower() for _, a in pairs if "@" in a and a.lower() not in own]
    return found[0] if len(found) == 1 and not _redacted(found[0]) else None


def _redacted(addr: str) -> bool:
    # RFC 6590 redaction replaces the local part ("xxxxxxx@example.com", "redacted@…").
    local = addr.split("@", 1)[0]
    return local in {"redacted", "xxx"} or (len(set(local)) == 1 and len(local) > 3)
