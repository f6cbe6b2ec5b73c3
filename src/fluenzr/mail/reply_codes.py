"""SMTP replies → taxonomy codes: the reply code, the enhanced status code (RFC 3463), the text.

Order of evidence: the enhanced code first (it is standard), then the reply code and the stage,
then the text. Providers do not agree on enhanced codes for sending limits, so the phrases they
use live in :data:`LIMIT_PATTERNS`, a table with one example per row (tests check every row).
A "try again in N minutes" hint is read into ``retry_after`` (seconds) whatever the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from fluenzr.core import linear_re
from fluenzr.error_codes import ErrorCode


class Stage(StrEnum):
    """Where in the SMTP dialogue a reply came."""

    GREETING = "greeting"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    AUTH = "auth"
    MAIL = "mail"  # MAIL FROM
    RCPT = "rcpt"  # RCPT TO
    DATA = "data"  # the DATA command itself
    MESSAGE = "message"  # the reply after the message's final dot
    QUIT = "quit"

    @property
    def opens_session(self) -> bool:
        """Setting the session up (before any MAIL FROM): a failure here is the account's."""
        return self in _OPENING

    @property
    def transfers_message(self) -> bool:
        """DATA and the message itself: once here, the server may already have the message."""
        return self in _TRANSFER


_OPENING = frozenset({Stage.GREETING, Stage.EHLO, Stage.STARTTLS, Stage.AUTH})
_TRANSFER = frozenset({Stage.DATA, Stage.MESSAGE})


# A 2xx/3xx reply: not an error, so not an ErrorCode member; the same string on the wire.
Accepted = Literal["accepted"]
ACCEPTED: Final[Accepted] = "accepted"


@dataclass(frozen=True)
class Reply:
    code: int
    enhanced: str | None
    text: str


@dataclass(frozen=True)
class ClassifiedReply:
    """One server reply, classified once: everything above the transport reads this value."""

    stage: Stage  # where in the dialogue it came
    code: ErrorCode | Accepted  # an error code, or "accepted" for 2xx/3xx
    reply_code: int
    enhanced_code: str | None
    text: str
    retry_after: int | None  # seconds, when the server says when to try again

    @property
    def accepted(self) -> bool:
        return not isinstance(self.code, ErrorCode)

    @property
    def error(self) -> ErrorCode | None:
        """The taxonomy code of a refusal; None when the reply accepted."""
        return self.code if isinstance(self.code, ErrorCode) else None

    @property
    def message(self) -> str:
        """The text on one line, without the enhanced code already in ``enhanced_code``."""
        text = " ".join(self.text.split())
        if self.enhanced_code and text.startswith(self.enhanced_code):
            text = text[len(self.enhanced_code) :].lstrip()
        return text

    @property
    def retryable(self) -> bool:
        return isinstance(self.code, ErrorCode) and self.code.retryable


@dataclass(frozen=True)
class LimitPattern:
    provider: str
    pattern: linear_re.Pattern[str]
    example: tuple[int, str]  # a real-looking reply: (code, text)


def _p(provider: str, regex: str, code: int, text: str) -> LimitPattern:
    return LimitPattern(provider, linear_re.compile(regex, linear_re.IGNORECASE), (code, text))


# Phrases providers use when an account or a client sends too much. Generic rows last.
LIMIT_PATTERNS: tuple[LimitPattern, ...] = (
    _p("postfix", r"too much mail from", 450, "4.7.1 Error: too much mail from 127.0.0.1"),
    _p(
        "postfix",
        r"too many (connections|recipients|messages) from",
        421,
        "4.7.0 mail.example.com Error: too many connections from 192.0.2.1",
    ),
    _p("exim", r"rate overlimit|ratelimit(ed)?\b", 451, "4.7.1 Sender rate overlimit - 101.0 / 1h"),
    _p(
        "exim-cpanel",
        r"exceeded the max (emails|defers and failures) per hour",
        550,
        "Domain example.com has exceeded the max emails per hour (100/100 (100%)) allowed."
        "  Message discarded.",
    ),
    _p(
        "gmail",
        r"daily user sending (quota|limit) exceeded",
        550,
        "5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits",
    ),
    _p(
        "gmail",
        r"receiving mail (too quickly|at a rate)",
        450,
        "4.2.1 The user you are trying to contact is receiving mail too quickly.",
    ),
    _p(
        "gmail",
        r"unusual rate of unsolicited mail",
        421,
        "4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your IP",
    ),
    _p("gmail", r"try again later", 421, "4.7.0 Try again later, closing connection. (EHLO)"),
    _p(
        "outlook",
        r"SubmissionQuotaExceeded|sending quota|message rate limit",
        554,
        "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process"
        " message due to a permanent exception with message Cannot submit message.",
    ),
    _p(
        "outlook",
        r"(sender thread|concurrent connections?) limit exceeded",
        432,
        "4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded",
    ),
    _p(
        "outlook",
        r"temporarily rate limited",
        421,
        "4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP"
        " reputation.",
    ),
    _p(
        "yahoo",
        r"deferred due to (unexpected )?volume",
        421,
        "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or"
        " user complaints",
    ),
    _p(
        "zoho",
        r"unusual sending activity",
        550,
        "5.4.6 Unusual sending activity detected. Please try after sometime.",
    ),
    _p("zoho", r"outgoing (mail )?blocked", 554, "5.1.8 Email Outgoing Blocked."),
    _p(
        "ovh",
        r"too many (messages|mails|e-?mails)",
        450,
        "4.7.1 Too many messages sent, please slow down",
    ),
    _p(
        "ovh",
        r"quota of (messages|mails|e-?mails)",
        550,
        "5.7.1 Your quota of messages per hour has been exceeded",
    ),
    _p(
        "generic",
        r"(sending|send|message|hourly|daily) (limit|quota)",
        550,
        "5.7.1 Daily sending limit reached",
    ),
    _p(
        "generic",
        r"(limit|quota) (exceeded|reached)|exceeded (the |your )?(limit|quota)",
        452,
        "4.5.3 Recipient limit exceeded",
    ),
    _p("generic", r"rate[- ]?limit|slow down|throttl", 451, "4.7.1 Throttled, slow down"),
    _p(
        "generic",
        r"too many (mails|emails|recipients|connections|requests)",
        452,
        "4.5.3 Too many recipients",
    ),
)
LIMIT_REPLY_CODES = frozenset({421, 432, 450, 451, 452, 454, 550, 554})

_ENHANCED = linear_re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
# Enhanced codes that name the failure whatever the text says (RFC 3463 subjects/details).
_RECIPIENT_DETAILS = {"1.0", "1.1", "1.2", "1.3", "1.6", "1.10", "2.1"}
_SENDER_DETAILS = {"1.7", "1.8"}
_MAILBOX_FULL_TEXT = linear_re.compile(
    r"mailbox (is )?full|over ?quota|quota exceeded.*mailbox|mailbox.*(quota|exceed)|"
    r"insufficient (storage|space) (for|in) (the )?mailbox",
    linear_re.IGNORECASE,
)
_SIZE_TEXT = linear_re.compile(
    r"(message|mail) (size|too (big|large))|size (limit|exceed)", linear_re.I
)
_RELAY_TEXT = linear_re.compile(
    r"relay(ing)? (access )?(denied|not permitted|disallowed)", linear_re.I
)
_SENDER_TEXT = linear_re.compile(
    r"sender (address )?(rejected|refused|denied)|not owned by", linear_re.I
)
_RECIPIENT_TEXT = linear_re.compile(
    r"recipient (address )?(rejected|refused)|user unknown|no such (user|mailbox)", linear_re.I
)
_AUTH_REQUIRED_TEXT = linear_re.compile(
    r"auth(entication)? required|must (issue|authenticate)", linear_re.I
)


def parse_reply(code: int, text: str) -> Reply:
    """Split an enhanced status code (``5.1.1``) off the front of a reply's text."""
    match = _ENHANCED.match(text)
    enhanced = ".".join(match.groups()) if match else None
    return Reply(code, enhanced, text.strip())


def classify_reply(stage: Stage, code: int, text: str) -> ClassifiedReply:
    """What a reply at ``stage`` means, as a taxonomy code (``accepted`` for 2xx/3xx)."""
    reply = parse_reply(code, text)
    result: ErrorCode | Accepted = ACCEPTED if code < 400 else _classify_failure(stage, reply)
    return ClassifiedReply(stage, result, code, reply.enhanced, reply.text, retry_after_hint(text))


def _classify_failure(stage: Stage, reply: Reply) -> ErrorCode:
    detail = reply.enhanced.split(".", 1)[1] if reply.enhanced else ""
    for rule in (_by_enhanced, _by_stage_and_text):
        found = rule(stage, reply, detail)
        if found:
            return found
    return _by_reply_code(stage, reply)


@dataclass(frozen=True)
class AuthPattern:
    """A provider's authentication refusal that has its own fix (one test per row)."""

    name: str
    reply_code: int
    enhanced: str
    pattern: linear_re.Pattern[str]
    code: ErrorCode


# Matched on AUTH replies before the generic rules; the texts are the providers' own.
AUTH_PATTERNS: tuple[AuthPattern, ...] = (
    # Microsoft 365: SMTP AUTH turned off for the tenant or the mailbox.
    AuthPattern(
        "microsoft_smtp_auth_disabled",
        535,
        "5.7.139",
        linear_re.compile(r"SmtpClientAuthentication is disabled", linear_re.I),
        ErrorCode.SMTP_AUTH_DISABLED,
    ),
    # Microsoft 365: Basic authentication (a password) refused: connect with OAuth.
    AuthPattern(
        "microsoft_basic_auth_disabled",
        535,
        "5.7.139",
        linear_re.compile(r"basic authentication is disabled", linear_re.I),
        ErrorCode.OAUTH_REQUIRED,
    ),
    # Gmail with 2-Step Verification: a normal password is refused, an app password works.
    AuthPattern(
        "gmail_app_password_required",
        534,
        "5.7.9",
        linear_re.compile(r"Application-specific password required", linear_re.I),
        ErrorCode.APP_PASSWORD_REQUIRED,
    ),
    # Gmail: "Username and Password not accepted" (password sign-in is off for the account).
    AuthPattern(
        "gmail_password_not_accepted",
        535,
        "5.7.8",
        linear_re.compile(r"Username and Password not accepted", linear_re.I),
        ErrorCode.APP_PASSWORD_REQUIRED,
    ),
)


def oauth_failure_code(code: ErrorCode, oauth_status: str) -> ErrorCode:
    """An AUTH refusal of an OAuth token: the token (or its scope) rather than a password.

    A provider-specific code (SMTP AUTH disabled) is kept; RFC 7628 status 403/
    ``insufficient_scope`` means the grant lacks the mail scope."""
    # Gmail answers a bad token with its password text (535-5.7.8 BadCredentials): for an OAuth
    # login that is the token, not a password.
    if code not in (ErrorCode.AUTH_FAILED, ErrorCode.APP_PASSWORD_REQUIRED):
        return code
    if oauth_status in {"403", "insufficient_scope"}:
        return ErrorCode.OAUTH_SCOPE_MISSING
    return ErrorCode.OAUTH_TOKEN_REJECTED


def _by_provider(stage: Stage, reply: Reply) -> ErrorCode | None:
    if stage is not Stage.AUTH:
        return None
    for row in AUTH_PATTERNS:
        if (
            reply.code == row.reply_code
            and reply.enhanced == row.enhanced
            and row.pattern.search(reply.text)
        ):
            return row.code
    return None


def _by_enhanced(stage: Stage, reply: Reply, detail: str) -> ErrorCode | None:
    provider = _by_provider(stage, reply)
    if provider is not None:
        return provider
    if detail in {"7.8", "7.9"} or (stage is Stage.AUTH and reply.code in {535, 534}):
        return ErrorCode.AUTH_FAILED
    if detail == "2.2" or (
        stage in {Stage.RCPT, Stage.MESSAGE} and _MAILBOX_FULL_TEXT.search(reply.text)
    ):
        return ErrorCode.MAILBOX_FULL
    if detail == "3.4" or (reply.code == 552 and _SIZE_TEXT.search(reply.text)):
        return ErrorCode.MESSAGE_TOO_LARGE
    return None


def _by_stage_and_text(stage: Stage, reply: Reply, detail: str) -> ErrorCode | None:
    if reply.code in LIMIT_REPLY_CODES and is_limit_text(reply.text):
        return ErrorCode.AUTH_THROTTLED if stage is Stage.AUTH else ErrorCode.SENDING_LIMIT
    if stage is Stage.AUTH:
        if reply.code == 504:
            return ErrorCode.AUTH_MECHANISM_UNSUPPORTED
        return ErrorCode.AUTH_FAILED if reply.code >= 500 else ErrorCode.TEMPORARY_FAILURE
    if _RELAY_TEXT.search(reply.text):
        return ErrorCode.RELAY_DENIED
    if reply.code == 530 or (detail == "7.0" and _AUTH_REQUIRED_TEXT.search(reply.text)):
        return ErrorCode.AUTH_REQUIRED
    if reply.code < 500:
        return None
    # Postfix reports a refused sender in reply to RCPT (smtpd_delay_reject): trust the text.
    if detail in _SENDER_DETAILS or _SENDER_TEXT.search(reply.text):
        return ErrorCode.SENDER_REJECTED
    if stage is not Stage.MAIL and (
        detail in _RECIPIENT_DETAILS or _RECIPIENT_TEXT.search(reply.text)
    ):
        return ErrorCode.RECIPIENT_REJECTED
    return None


def _by_reply_code(stage: Stage, reply: Reply) -> ErrorCode:
    if reply.code == 421 or (stage is Stage.GREETING and reply.code >= 500):
        return ErrorCode.SERVER_UNAVAILABLE
    if reply.code < 500:
        return ErrorCode.TEMPORARY_FAILURE
    return {
        Stage.MAIL: ErrorCode.SENDER_REJECTED,
        Stage.RCPT: ErrorCode.RECIPIENT_REJECTED,
        Stage.DATA: ErrorCode.MESSAGE_REJECTED,
        Stage.MESSAGE: ErrorCode.MESSAGE_REJECTED,
    }.get(stage, ErrorCode.UNEXPECTED_REPLY)


def is_limit_text(text: str) -> bool:
    return any(row.pattern.search(text) for row in LIMIT_PATTERNS)


_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "seconde": 1, "secondes": 1,
    "segundo": 1, "segundos": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "minuto": 60, "minutos": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "heure": 3600,
    "heures": 3600, "hora": 3600, "horas": 3600,
}  # fmt: skip
_RETRY = linear_re.compile(
    r"\b(?:again|retry|wait|after|later|in|dans|en|tard|après|apres|durante|de nuevo en)"
    r"\s*(?:in\s+|after\s+|for\s+)?:?\s*(\d{1,6})\s*"
    r"(seconds?|secs?|secondes?|segundos?|minutes?|minutos?|mins?|hours?|hrs?|heures?|horas?"
    r"|[smh])\b",
    linear_re.IGNORECASE,
)
_RETRY_AFTER_HEADER = linear_re.compile(r"retry-after:?\s*(\d{1,6})\b", linear_re.IGNORECASE)


def retry_after_hint(text: str) -> int | None:
    """Seconds the server asks us to wait ("try again in 5 minutes", "Retry-After: 120")."""
    header = _RETRY_AFTER_HEADER.search(text)
    if header:
        return int(header.group(1))
    match = _RETRY.search(text)
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


__all__ = [
    "ACCEPTED",
    "AUTH_PATTERNS",
    "LIMIT_PATTERNS",
    "LIMIT_REPLY_CODES",
    "Accepted",
    "AuthPattern",
    "ClassifiedReply",
    "LimitPattern",
    "Reply",
    "Stage",
    "classify_reply",
    "is_limit_text",
    "oauth_failure_code",
    "parse_reply",
    "retry_after_hint",
]
