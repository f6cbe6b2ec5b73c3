"""Bounces: RFC 3464 delivery status notifications and the non-standard shapes MTAs still send.

Evidence, strongest first: a ``multipart/report; report-type=delivery-status`` with per-recipient
fields (RFC 3464); an ``X-Failed-Recipients`` header (Exim, Gmail); a mailer-daemon sender with a
bounce subject or body (Postfix without DSN, qmail, Exchange, Yahoo, GroupWise, Zoho …).
Permanence follows RFC 3463: a 5.x.x status (or 5yz reply) is permanent, 4.x.x or an
``Action: delayed`` is temporary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from fluenzr.core import linear_re
from fluenzr.detection import autoreplies
from fluenzr.detection.bounce_library import library_failures
from fluenzr.detection.message import (
    address,
    content_type,
    header,
    message_ids,
    param,
    parse,
    part_text,
    walk,
)
from fluenzr.detection.subjects import has_reply_prefix

# Local parts that only machines send bounces from.
DAEMON_LOCALPARTS = frozenset(
    {
        "mailer-daemon",
        "postmaster",
        "mail-daemon",
        "maildaemon",
        "mailerdaemon",
        "bounce",
        "mdaemon",
        "microsoftexchange",
    }
)
# Display names of bounce senders ("Mail Delivery Subsystem" is Sendmail and Gmail's).
DAEMON_NAMES = linear_re.compile(
    r"mail delivery (subsystem|system|service)|mailer[- ]daemon|postmaster|"
    r"microsoft outlook|microsoft exchange|mail administrator|delivery status notification|"
    r"system administrator|courier mail server",
    linear_re.IGNORECASE,
)
# Subjects of bounces (failure or delay), by MTA / language.
BOUNCE_SUBJECTS: tuple[tuple[str, str], ...] = (
    ("postfix", r"undelivered mail returned to sender"),
    ("postfix_delay", r"delayed mail \(still being retried\)"),
    ("gmail", r"delivery status notification \((failure|delay)\)"),
    ("exim", r"mail delivery failed"),
    ("exim_delay", r"warning: message .* delayed"),
    ("sendmail", r"returned mail: "),
    ("sendmail_delay", r"warning: could not send message for past"),
    ("qmail", r"^failure notice$"),
    (
        "exchange",
        r"^(undeliverable|undelivered|non remis|unzustellbar|no se puede entregar|"
        r"no entregado|non recapitabile|onbestelbaar|não é possível entregar|não entregue)\s*:",
    ),
    (
        "exchange_delay",
        r"^(delivery delayed|remise différée|übermittlung verzögert|"
        r"entrega retrasada)\s*:",
    ),
    ("groupwise", r"message status - undeliverable"),
    ("domino", r"^delivery failure\s*:"),
    ("mdaemon", r"permanent delivery failure"),
    ("netscape", r"mail system error - returned mail"),
    ("sina", r"^退信"),
    ("yandex", r"недоставленное сообщение"),
    ("mailru", r"не доставлено сообщение"),
    (
        "generic",
        r"delivery (status notification|failure|failed|has failed)|delivery report \(failure\)|"
        r"undeliverable mail|returned mail|mail system error|nondeliverable|^failure delivery$|"
        r"courrier non remis|correo no entregado|unzustellbar",
    ),
)
_SUBJECTS = [
    (name, linear_re.compile(pattern, linear_re.IGNORECASE)) for name, pattern in BOUNCE_SUBJECTS
]
# Body phrases that only bounce texts use (checked when the sender is a daemon).
BOUNCE_PHRASES = linear_re.compile(
    r"could not be delivered|couldn't be delivered|wasn't delivered|was not delivered|"
    r"delivery has failed|undeliverable|permanent error|unable to deliver|"
    r"wasn't able to deliver|was undeliverable|delivery to the following recipient|"
    r"following address(es)? failed|returned to sender|no se ha podido entregar|"
    r"n'a pas pu être remis|konnte nicht zugestellt|non è stato possibile recapitare|"
    r"did not receive (this|the attached) (message|mail)|not listed in domino directory|"
    r"could not be reached|did not reach|was not delivered to|not completely delivered|"
    r"had permanent fatal|undeliverable to the following|zugestellt werden konnte|"
    r"не может быть доставлено|no se ha podido entregar|error al entregar|"
    r"die zustellung an folgende empfänger|remis à un ou plusieurs",
    linear_re.IGNORECASE,
)
DELAY_PHRASES = linear_re.compile(
    r"\bdelayed\b|will (continue to )?retry|still trying|will keep trying|"
    r"has not yet been delivered|could not send message for past|no action is required|"
    r"temporar(il)?y|message not delivered yet|delivery is delayed|warning message only|"
    r"hasn't been delivered yet|will retry|not delivered yet",
    linear_re.IGNORECASE,
)
PERMANENT_PHRASES = linear_re.compile(
    r"permanent(ly)? (error|failure|fatal)|i've given up|user unknown|no such user|"
    r"address not found|does not exist|doesn't exist|mailbox unavailable|not found|"
    r"recipient address rejected|user not found|account (is )?disabled",
    linear_re.IGNORECASE,
)
# RE2 has no lookaround: the neighbours are matched (and consumed); group(1) is the status.
_STATUS = linear_re.compile(r"(?:^|[^\d.])(([245])\.(\d{1,3})\.(\d{1,3}))(?:[^\d.]|$)")
_REPLY_CODE = linear_re.compile(r"(?:^|[\s#(:])([245]\d\d)[\s\-]", linear_re.MULTILINE)
_EMAIL = linear_re.compile(
    r"[A-Za-z0-9._%+'/-][A-Za-z0-9._%+'=/-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253})\.[A-Za-z]{2,}"
)
# Where a non-standard bounce starts quoting the original message.
_ORIGINAL_MARKERS = linear_re.compile(
    r"^[ \t]*(-{2,}.*(original message|copy of the message|below this line|"
    r"undelivered message|message headers follow|returned message).*|"
    r"(original message headers|encabezados del mensaje original|"
    r"en-têtes du message d'origine|kopfzeilen der ursprünglichen nachricht)\s*:?|"
    r"------ This is a copy of the message.*)$",
    linear_re.IGNORECASE | linear_re.MULTILINE,
)
_HEADER_MSGID = linear_re.compile(
    r"^[ \t>]*Message-ID:[ \t]*(<[^>\r\n]+>|[^\s<>]+@[^\s<>]+)",
    linear_re.IGNORECASE | linear_re.MULTILINE,
)


@dataclass(frozen=True)
class Bounce:
    rule: str  # dsn | x_failed_recipients | <mta shape name>
    failed_recipients: tuple[str, ...] = ()
    status: str | None = None  # e.g. "5.1.1"
    permanent: bool = True
    diagnostic: str | None = None
    original_message_id: str | None = None
    original_headers: dict[str, str] = field(default_factory=dict)


def _is_daemon(msg: Message) -> bool:
    display, addr = address(msg, "From")
    local = addr.split("@", 1)[0]
    if local in DAEMON_LOCALPARTS or local.startswith(("mailer-daemon", "postmaster")):
        return True
    return bool(DAEMON_NAMES.search(display))


def subject_shape(subject: str) -> str | None:
    if has_reply_prefix(subject):
        return None  # "Re: Delivery Status Notification": a person answering about a bounce
    for name, pattern in _SUBJECTS:
        if pattern.search(subject):
            return name
    return None


def looks_like_bounce(msg: Message) -> bool:
    """Header-only triage: is this message worth fetching in full as a possible bounce?"""
    report = param(msg, "report-type") if content_type(msg) == "multipart/report" else ""
    if report in ("delivery-status", "feedback-report"):  # a DSN, or an ARF complaint
        return True
    if header(msg, "X-Failed-Recipients"):
        return True
    if not header(msg, "Return-Path").strip("<> ") and header(msg, "Return-Path"):
        return True  # null reverse-path: RFC 5321 says bounces are sent from <>
    return _is_daemon(msg) or subject_shape(header(msg, "Subject")) is not None


def detect(msg: Message, *, own_addresses: frozenset[str] = frozenset()) -> Bounce | None:
    """The bounce this message is, or None."""
    is_report = (
        content_type(msg) == "multipart/report" and param(msg, "report-type") == "delivery-status"
    )
    if is_report:
        found = _from_dsn(msg)
        if found is not None:
            return found
    x_failed = header(msg, "X-Failed-Recipients")
    subject = header(msg, "Subject")
    shape = subject_shape(subject)
    daemon = _is_daemon(msg)
    text = _human_text(msg)
    strong = x_failed or is_report or (daemon and (shape or BOUNCE_PHRASES.search(text)))
    weak = shape and shape != "generic" and BOUNCE_PHRASES.search(text)
    ignore = own_addresses | {address(msg, "From")[1], *_addresses_of(header(msg, "To"))}
    library: list[str] | None = None
    if not strong and not weak:
        if not (daemon or _null_sender(msg)) or autoreplies.subject_evidence(subject):
            return None
        library = _library_recipients(msg, text, ignore=ignore)
        if not library:
            return None
    rule = "x_failed_recipients" if x_failed else (shape or ("flufl" if library else "daemon"))
    recipients = _addresses_of(x_failed) or _failed_in_text(text, ignore=ignore)
    if not recipients:
        recipients = (
            library if library is not None else _library_recipients(msg, text, ignore=ignore)
        )
    status, permanent = _permanence(text, subject=subject)
    original = original_headers(msg)
    return Bounce(
        rule=rule,
        failed_recipients=tuple(recipients),
        status=status,
        permanent=permanent,
        diagnostic=_diagnostic(text),
        original_message_id=original_message_id(msg, original),
        original_headers=original,
    )


def _null_sender(msg: Message) -> bool:
    value = header(msg, "Return-Path")
    return bool(value) and not value.strip("<> ")


def _library_recipients(msg: Message, text: str, *, ignore: frozenset[str]) -> list[str]:
    """flufl.bounce's failed addresses that the bounce's own text names (never ours)."""
    temporary, permanent = library_failures(msg)
    named = set(_addresses_of(text))
    return [a for a in (*permanent, *temporary) if a in named and _may_fail(a, ignore)][:50]


def _from_dsn(msg: Message) -> Bounce | None:
    blocks: list[Message] = []
    for part in walk(msg):
        if content_type(part) in ("message/delivery-status", "message/global-delivery-status"):
            payload = part.get_payload()
            if isinstance(payload, list):
                blocks.extend(p for p in payload if isinstance(p, Message))
    failed: list[str] = []
    statuses: list[str] = []
    diagnostic = None
    delayed = False
    for block in blocks[1:] if len(blocks) > 1 else blocks:
        action = header(block, "Action").lower()
        if action.startswith("delayed"):
            delayed = True
        elif not action.startswith("failed"):
            continue
        recipient = _dsn_address(
            header(block, "Final-Recipient") or header(block, "Original-Recipient")
        )
        if recipient and recipient not in failed:
            failed.append(recipient)
        found = _STATUS.search(header(block, "Status"))
        if found:
            statuses.append(found.group(1))
        diagnostic = diagnostic or header(block, "Diagnostic-Code") or None
    if not failed and not statuses and not delayed:
        return None
    text = _human_text(msg)
    permanent = _dsn_permanent(statuses, delayed=delayed)
    original = original_headers(msg)
    status = statuses[0] if statuses else None
    specific = _STATUS.search(diagnostic or "")
    if status and status.endswith(".0.0") and specific and specific.group(2) == status[0]:
        status = specific.group(1)  # "5.0.0" in Status, "550 5.1.1 …" in Diagnostic-Code
    return Bounce(
        rule="dsn",
        failed_recipients=tuple(failed),
        status=status,
        permanent=permanent,
        diagnostic=_clean_diagnostic(diagnostic) or _diagnostic(text),
        original_message_id=original_message_id(msg, original),
        original_headers=original,
    )


def _dsn_permanent(statuses: list[str], *, delayed: bool) -> bool:
    if any(s.startswith("5") for s in statuses):
        return True
    return not (statuses or delayed)


def _dsn_address(value: str) -> str | None:
    # "rfc822; user@example.com" (RFC 3464 §2.3.2); the address type is optional in practice.
    _, _, addr = value.rpartition(";")
    addr = addr.strip().strip("<>").lower()
    return addr if "@" in addr else None


def _addresses_of(value: str) -> list[str]:
    out: list[str] = []
    for found in _EMAIL.findall(value or ""):
        addr = found.lower().strip(".")
        if addr not in out:
            out.append(addr)
    return out


def _human_text(msg: Message) -> str:
    """The bounce's own explanation: text parts outside the returned original message."""
    chunks: list[str] = []
    for part in walk(msg):
        if content_type(part) == "text/plain" and not header(
            part, "Content-Disposition"
        ).lower().startswith("attachment"):
            chunks.append(part_text(part))
        if sum(len(c) for c in chunks) > 50_000:
            break
    if not chunks:
        chunks = [_strip_tags(part_text(p)) for p in walk(msg) if content_type(p) == "text/html"]
    text = "\n".join(chunks)
    marker = _ORIGINAL_MARKERS.search(text)
    text = text[: marker.start()] if marker else text
    block = _QUOTED_HEADERS.search(text)
    return text[: block.start()] if block else text


# The returned original pasted without a marker: two header lines in a row at column 0.
_QUOTED_HEADERS = linear_re.compile(
    r"(?m)^(received|return-path|message-id|from|to|date|subject|mime-version|dkim-signature)"
    r":[^\n]*\n(received|return-path|message-id|from|to|cc|date|subject|mime-version|"
    r"content-type|[ \t])",
    linear_re.IGNORECASE,
)


def _strip_tags(html: str) -> str:
    return _TAGS.sub(" ", html)


_TAGS = linear_re.compile(r"<[^>]*>")  # linear in RE2: no need to cap the run
_REPLY_CODE_WORD = linear_re.compile(r"\b[45]\d\d[ -]")
_ID_LINES = linear_re.compile(
    r"^[ \t>]*(message-id|references|in-reply-to)\s*:.*$", linear_re.I | linear_re.M
)


def _failed_in_text(text: str, *, ignore: set[str] | frozenset[str]) -> list[str]:
    text = _SMTP_PREFIX.sub(" ", _ID_LINES.sub("", text))
    return [addr for addr in _addresses_of(text) if _may_fail(addr, ignore)][:50]


def _may_fail(addr: str, ignore: set[str] | frozenset[str]) -> bool:
    return addr not in ignore and addr.split("@", 1)[0] not in DAEMON_LOCALPARTS


# Exchange 5.5/2000 writes "SMTP=user@example.com;"; a "from/reply to/cc" line names others.
_SMTP_PREFIX = linear_re.compile(
    r"(?i)\bsmtp=|^[ \t]*(from|cc|reply-to|sender|return-path)[ \t]*:.*$", linear_re.MULTILINE
)


def _permanence(text: str, *, subject: str) -> tuple[str | None, bool]:
    statuses = [m.group(1) for m in _STATUS.finditer(text)]
    permanent_status = next((s for s in statuses if s.startswith("5")), None)
    if permanent_status:
        return permanent_status, True
    codes = [m.group(1) for m in _REPLY_CODE.finditer(text)]
    if any(c.startswith("5") for c in codes):
        return (statuses[0] if statuses else None), True
    if statuses and statuses[0].startswith("4"):
        return statuses[0], False
    if any(c.startswith("4") for c in codes):
        return None, False
    if DELAY_PHRASES.search(subject) or (
        DELAY_PHRASES.search(text) and not PERMANENT_PHRASES.search(text)
    ):
        return None, False
    return None, True


def _diagnostic(text: str) -> str | None:
    for line in text.splitlines():
        if _STATUS.search(line) or _REPLY_CODE_WORD.search(line):
            return line.strip()[:500] or None
    return None


def _clean_diagnostic(value: str | None) -> str | None:
    if not value:
        return None
    kind, sep, rest = value.partition(";")
    typed = sep and kind.strip().lower() in {"smtp", "x-unix", "x-local"}
    return (rest if typed else value).strip()[:500]


def original_headers(msg: Message) -> dict[str, str]:
    for part in walk(msg)[1:]:
        kind = content_type(part)
        if kind in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                return _pick(inner)
        if kind in ("text/rfc822-headers", "message/global-headers"):
            return _pick(parse(part_text(part).encode("utf-8", "replace")))
    return {}


def _pick(inner: Message) -> dict[str, str]:
    out = {}
    for name in ("Message-ID", "From", "To", "Subject", "Date"):
        value = header(inner, name)
        if value:
            out[name.lower()] = value
    return out


def original_message_id(msg: Message, original: dict[str, str]) -> str | None:
    """The embedded original's Message-ID: its headers' (``original``), else a quoted one."""
    found = message_ids(original.get("message-id", ""))
    if found:
        return found[0]
    # Non-standard bounces quote the original inline, after a marker line.
    own = message_ids(header(msg, "Message-ID"))
    full = "\n".join(part_text(p) for p in walk(msg) if content_type(p).startswith("text/"))
    for match in _HEADER_MSGID.finditer(full):
        ids = message_ids(match.group(1))
        if ids and ids[0] not in own:
            return ids[0]
    return None
