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

from dataclasses import asdict, dataclass, field
from datetime import date
from email.message import Message
from typing import Any, Literal

from fluenzr.core import linear_re
from fluenzr.detection import autoreplies, bounces, quotes
from fluenzr.detection.message import (
    address,
    bodies,
    header,
    message_id,
    message_ids,
    parse,
)
from fluenzr.detection.subjects import has_reply_prefix

Kind = Literal["bounce", "auto_reply", "reply", "other"]
KINDS: tuple[str, ...] = ("bounce", "auto_reply", "reply", "other")

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
                kind="auto_reply", rule=rule, return_date=_return_date(msg), **base
            )
        return Classification(kind="other", rule=rule, **base)
    bulk = _bulk(msg, sender=base["from_address"])
    if bulk is not None:
        return Classification(kind="other", rule=bulk, **base)
    plain, html = bodies(msg)
    text = quotes.reply_text(plain, html)
    answers = bool(base["references"]) or has_reply_prefix(base["subject"])
    return Classification(
        kind="reply" if answers else "other",
        rule="human" if answers else "not_a_reply",
        reply_text=text,
        unsubscribe=quotes.wants_unsubscribe(f"{base['subject']}\n{text}"),
        **base,
    )


def _base(msg: Message) -> dict[str, Any]:
    in_reply_to = message_ids(header(msg, "In-Reply-To"))[:10]
    refs = list(in_reply_to)
    for ref in reversed(message_ids(header(msg, "References"))):
        if ref not in refs:
            refs.append(ref)
    return {
        "message_id": message_id(msg),
        "from_address": address(msg, "From")[1],
        "subject": header(msg, "Subject")[:998],
        "in_reply_to": tuple(in_reply_to),
        "references": tuple(refs[:100]),
    }


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
