"""Classify an incoming message: bounce, auto_reply, reply or other. Pure: no I/O, never raises.

Order of evidence (first match wins), chosen so the costly mistakes cannot happen — a bounce or
an out-of-office must never pass for a prospect's answer:

1. ``bounce``      RFC 3464 reports, X-Failed-Recipients, mailer-daemon shapes (:mod:`bounces`);
2. ``auto_reply``  RFC 3834 ``Auto-Submitted: auto-replied``, vendor headers, out-of-office
                   subjects (:mod:`autoreplies`); ``auto-generated`` mail that is not a response
                   (no In-Reply-To, no out-of-office subject) is a notification → ``other``;
3. ``other``       list and bulk mail (``List-Id``, ``Precedence: bulk|list|junk``), no-reply
                   notification senders, and human mail that answers nothing;
4. ``reply``       a person's answer: reply text without the quote, ``unsubscribe`` flag.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict, dataclass, field
from datetime import date
from email.message import Message
from typing import Any, Literal

from fluenzr.core import linear_re
from fluenzr.detection import autoreplies, bounces, complaints, intents, quotes
from fluenzr.detection.message import (
    address,
    bodies,
    header,
    headers,
    message_id,
    message_ids,
    parse,
)
from fluenzr.detection.subjects import has_reply_prefix

Kind = Literal["complaint", "bounce", "auto_reply", "reply", "other"]
KINDS: tuple[str, ...] = ("complaint", "bounce", "auto_reply", "reply", "other")

NOREPLY_SENDER = linear_re.compile(
    r"^(no-?reply|do-?not-?reply|donotreply|notifications?|notify|alerts?|newsletter|news|"
    r"mailer|info-noreply)([+.\-_].*)?@",
    linear_re.IGNORECASE,
)
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})


@dataclass(frozen=True)
class Classification:
    kind: Kind
    rule: str  # which evidence decided, e.g. "dsn", "auto_submitted:auto-replied", "list_id"
    message_id: str | None = None
    from_address: str = ""
    subject: str = ""
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()  # In-Reply-To first, then References (newest first)
    failed_recipients: tuple[str, ...] = ()
    status: str | None = None
    permanent: bool | None = None
    diagnostic: str | None = None
    original_message_id: str | None = None
    return_date: date | None = None
    reply_text: str | None = None
    unsubscribe: bool = False
    complainant: str | None = None  # complaint: who marked our mail as spam
    feedback_type: str | None = None  # complaint: ARF Feedback-Type
    thread_index: str | None = None  # Exchange Thread-Index root (base64 of its 22 bytes)
    intent: str | None = None  # reply: see :mod:`intents`
    intent_phrase: str | None = None  # the words that decided the intent
    referred: str | None = None  # reply: the address a wrong_person/left_company points to
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["in_reply_to"] = list(self.in_reply_to)
        out["references"] = list(self.references)
        out["failed_recipients"] = list(self.failed_recipients)
        out["return_date"] = self.return_date.isoformat() if self.return_date else None
        return out


def classify_bytes(raw: bytes, *, own_addresses: frozenset[str] = frozenset()) -> Classification:
    return classify(parse(raw), own_addresses=own_addresses)


def classify(msg: Message, *, own_addresses: frozenset[str] = frozenset()) -> Classification:
    """Classify a parsed message. ``own_addresses`` are ours (never a failed recipient)."""
    base = _base(msg)
    if complaints.is_feedback_report(msg):
        complaint = complaints.detect(msg, own_addresses=own_addresses)
        if complaint is None:
            return Classification(kind="other", rule="feedback_report", **base)
        return Classification(
            kind="complaint",
            rule=f"arf:{complaint.feedback_type}",
            complainant=complaint.complainant,
            feedback_type=complaint.feedback_type,
            original_message_id=complaint.original_message_id,
            extra={f"arf_{k}": v for k, v in complaint.fields.items()},
            **base,
        )
    bounce = bounces.detect(msg, own_addresses=own_addresses)
    if bounce is not None:
        return Classification(
            kind="bounce",
            rule=bounce.rule,
            failed_recipients=bounce.failed_recipients,
            status=bounce.status,
            permanent=bounce.permanent,
            diagnostic=bounce.diagnostic,
            original_message_id=bounce.original_message_id,
            extra={f"original_{k}": v for k, v in bounce.original_headers.items()},
            **base,
        )
    automatic = _automatic(msg, subject=base["subject"], responds=bool(base["references"]))
    if automatic is not None:
        kind, rule = automatic
        if kind == "auto_reply":
            return Classification(
                kind="auto_reply",
                rule=rule,
                return_date=_return_date(msg),
                original_message_id=bounces.original_message_id(msg, bounces.original_headers(msg)),
                **base,
            )
        return Classification(kind="other", rule=rule, **base)
    bulk = _bulk(msg, sender=base["from_address"])
    if bulk is not None:
        return Classification(kind="other", rule=bulk, **base)
    plain, html = bodies(msg)
    text = quotes.reply_text(plain, html)
    answers = bool(base["references"]) or has_reply_prefix(base["subject"])
    unsubscribe = quotes.wants_unsubscribe(f"{base['subject']}\n{text}")
    found = intents.detect(
        text, unsubscribe=unsubscribe, own_addresses=own_addresses, sender=base["from_address"]
    )
    return Classification(
        kind="reply" if answers else "other",
        rule="human" if answers else "not_a_reply",
        reply_text=text,
        unsubscribe=unsubscribe,
        intent=found.intent,
        intent_phrase=found.phrase,
        referred=found.referred,
        **base,
    )


def _base(msg: Message) -> dict[str, Any]:
    in_reply_to = [i for v in headers(msg, "In-Reply-To") for i in message_ids(v)][:10]
    refs = list(in_reply_to)
    references = [i for v in headers(msg, "References") for i in message_ids(v)]
    for ref in reversed(references):
        if ref not in refs:
            refs.append(ref)
    return {
        "message_id": message_id(msg),
        "from_address": address(msg, "From")[1],
        "subject": header(msg, "Subject")[:998],
        "in_reply_to": tuple(in_reply_to),
        "references": tuple(refs[:100]),
        "thread_index": thread_index_root(header(msg, "Thread-Index")),
    }


def thread_index_root(value: str) -> str | None:
    """The conversation root of an Exchange ``Thread-Index`` ([MS-OXOMSG] 2.2.1.3): its first
    22 bytes (a FILETIME part and a GUID) are shared by every message of the thread; each
    reply appends 5 bytes. Returned base64-encoded, or None when absent or malformed."""
    value = "".join(value.split())[:400]
    if len(value) < 30:
        return None
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 22 or (len(raw) - 22) % 5:
        return None
    return base64.b64encode(raw[:22]).decode("ascii")


def _automatic(msg: Message, *, subject: str, responds: bool) -> tuple[str, str] | None:
    evidence = autoreplies.header_evidence(msg)
    oof_subject = autoreplies.subject_evidence(subject)
    if evidence == "auto_submitted:auto-generated" and not (oof_subject or responds):
        return "other", "auto_generated_notification"
    if evidence is not None:
        return "auto_reply", evidence
    if oof_subject is not None:
        return "auto_reply", oof_subject
    return None


def _bulk(msg: Message, *, sender: str) -> str | None:
    if header(msg, "Precedence").lower() in _BULK_PRECEDENCE:
        return "precedence_bulk"
    if header(msg, "List-Id"):
        return "list_id"
    if header(msg, "List-Unsubscribe") and not header(msg, "In-Reply-To"):
        return "list_unsubscribe"
    if NOREPLY_SENDER.match(sender):
        return "noreply_sender"
    return None


def _return_date(msg: Message) -> date | None:
    plain, html = bodies(msg)
    text = plain if plain.strip() else quotes.html_to_reply_text(html)
    sent = autoreplies.sent_at(msg)
    subject = header(msg, "Subject")
    return autoreplies.return_date(f"{subject}\n{text}", sent=sent)
