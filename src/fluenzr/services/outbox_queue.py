"""Queueing mail: validate a send request, build its MIME once, write the outbox rows.

The write path of :mod:`fluenzr.services.outbox`, on SQLAlchemy Core alone (the tables described
in :mod:`fluenzr.storage.outbox_tables` and :mod:`fluenzr.storage.account_reads`): ``fluenzr
send`` runs once per message in scripts, and the ORM, the model modules, their mapper
configuration and pydantic (the outbox views) would cost it more than the work (docs/cli.md).
The results are plain :class:`Queued` records; the outbox service turns them into views.

Everything is validated (recipients, headers, account, suppression) and built before the first
write, and a message goes in with its recipients in one transaction: a rejected request writes
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import FluenzrError, NotFoundError, ValidationError
from fluenzr.mail import mime
from fluenzr.mail.mime import Address, Draft
from fluenzr.sending import suppression
from fluenzr.services import account_rules, idempotency
from fluenzr.services.context import AppContext
from fluenzr.storage.account_reads import accounts
from fluenzr.storage.outbox_states import COPY_NONE, QUEUED
from fluenzr.storage.outbox_tables import outbox_messages, outbox_recipients

MAX_RECIPIENTS = 50
MAX_SUBJECT = 998


@dataclass(frozen=True)
class SendRequest:
    account_id: int
    to: Sequence[str]
    subject: str
    text: str
    cc: Sequence[str] = ()
    html: str | None = None
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    headers: Sequence[tuple[str, str]] = ()
    not_before: datetime | None = None  # naive = the account's time zone
    stop_on_reply: bool = False
    unsubscribe: Sequence[str] = field(default_factory=tuple)
    one_click: bool = False


@dataclass(frozen=True)
class Sender:
    """What queueing reads of the account."""

    id: int
    email: str
    display_name: str
    timezone: str


@dataclass
class Queued:
    """One message as written: its ``outbox_messages`` row and its recipients' rows.

    ``row["id"]`` (and each recipient's ``outbox_id``) are set once the rows are inserted.
    """

    row: dict[str, Any]
    recipients: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        """What ``fluenzr send --json`` prints."""
        return {"id": self.row["id"], "message_id": self.row["message_id"], "status": QUEUED}


@dataclass(frozen=True)
class Replayed:
    """An earlier request with the same idempotency key created this message."""

    outbox_id: int


def parse_address(value: str, *, field_name: str) -> Address:
    """``bob@x.org`` or ``Bob <bob@x.org>``; the address validated and normalised."""
    mime.refuse_line_breaks(field_name, value)
    name, addr = parseaddr(value.strip())
    if not value.strip():
        raise ValidationError(ErrorCode.EMAIL_MISSING, params={"field": field_name})
    addr = addr or value.strip()  # let the validator say what is wrong with it
    return Address(email=account_rules.email(addr, field=field_name), name=name.strip())


def _addresses(values: Sequence[str], *, field_name: str) -> list[Address]:
    out = [parse_address(v, field_name=field_name) for v in values]
    seen: set[str] = set()
    unique = []
    for address in out:
        if address.email.lower() not in seen:
            seen.add(address.email.lower())
            unique.append(address)
    return unique


def _sender(connection: Connection, *, workspace_id: int, account_id: int) -> Sender:
    columns = (accounts.c.id, accounts.c.email, accounts.c.display_name, accounts.c.timezone)
    query = select(accounts.c.workspace_id, *columns).where(accounts.c.id == account_id)
    found = connection.execute(query).first()
    if found is None or found.workspace_id != workspace_id:
        # Bad input to a send (exit 2), not a lookup of the account itself.
        raise ValidationError(
            ErrorCode.ACCOUNT_NOT_FOUND, params={"id": account_id, "field": "account"}
        )
    return Sender(
        id=found.id, email=found.email, display_name=found.display_name, timezone=found.timezone
    )


def _cached_sender(
    connection: Connection, senders: dict[int, Sender], *, workspace_id: int, request: SendRequest
) -> Sender:
    """The request's account, read once per batch (a file of 10,000 sends names a few)."""
    account = senders.get(request.account_id)
    if account is None:
        account = _sender(connection, workspace_id=workspace_id, account_id=request.account_id)
        senders[request.account_id] = account
    return account


def _not_before(value: datetime | None, *, tz: str) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(tz))


def _draft(account: Sender, request: SendRequest) -> tuple[Draft, list[Address], list[Address]]:
    to = _addresses(request.to, field_name="to")
    if not to:
        raise ValidationError(ErrorCode.EMAIL_MISSING, params={"field": "to"})
    cc = [a for a in _addresses(request.cc, field_name="cc") if a not in to]
    if len(to) + len(cc) > MAX_RECIPIENTS:
        raise ValidationError(
            ErrorCode.TOO_MANY_RECIPIENTS, params={"field": "to", "max": MAX_RECIPIENTS}
        )
    subject = request.subject.strip()
    mime.refuse_line_breaks("Subject", subject)
    if len(subject) > MAX_SUBJECT:
        raise ValidationError(
            ErrorCode.SUBJECT_TOO_LONG, params={"field": "subject", "max": MAX_SUBJECT}
        )
    reply_to = parse_address(request.reply_to, field_name="reply_to") if request.reply_to else None
    draft = Draft(
        sender=Address(account.email, account.display_name),
        to=to,
        cc=cc,
        subject=subject,
        text=request.text,
        html=request.html,
        reply_to=reply_to,
        in_reply_to=request.in_reply_to,
        references=request.references,
        headers=request.headers,
        unsubscribe=request.unsubscribe,
        one_click=request.one_click,
    )
    return draft, to, cc


def _queued(*, workspace_id: int, account: Sender, request: SendRequest, now: datetime) -> Queued:
    """Validate and build one message (no database access): the row and its recipients."""
    draft, to, cc = _draft(account, request)
    built = mime.build(draft)
    not_before = _not_before(request.not_before, tz=account.timezone)
    parent = request.in_reply_to
    row: dict[str, Any] = {
        "workspace_id": workspace_id,
        "account_id": account.id,
        "message_id": built.message_id,
        "envelope_from": account.email,
        "subject": draft.subject,
        "in_reply_to": mime.normalise_msg_id(parent, field_name="in_reply_to") if parent else None,
        "mime": built.mime,
        "status": QUEUED,
        "attempts": 0,
        "not_before": not_before,
        "next_attempt_at": not_before,
        "stop_on_reply": request.stop_on_reply,
        "sent_copy": COPY_NONE,
        "copy_attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    recipients = [
        {"email": a.email, "kind": kind, "status": QUEUED}
        for kind, group in (("to", to), ("cc", cc))
        for a in group
    ]
    return Queued(row, recipients)


def build(
    connection: Connection, *, workspace_id: int, requests: Sequence[SendRequest], now: datetime
) -> list[Queued]:
    """Validate and build every message (reads only): a bad one raises before any write."""
    senders: dict[int, Sender] = {}
    built = []
    for request in requests:
        account = _cached_sender(connection, senders, workspace_id=workspace_id, request=request)
        built.append(_queued(workspace_id=workspace_id, account=account, request=request, now=now))
    everyone = [r["email"] for message in built for r in message.recipients]
    suppression.refuse_suppressed(connection, workspace_id=workspace_id, emails=everyone)
    return built


def write(connection: Connection, built: list[Queued]) -> list[Queued]:
    """The rows go in as two multi-row INSERTs (messages, then their recipients)."""
    statement = insert(outbox_messages).returning(
        outbox_messages.c.id, sort_by_parameter_order=True
    )
    ids = connection.execute(statement, [message.row for message in built]).scalars().all()
    for message, outbox_id in zip(built, ids, strict=True):
        message.row["id"] = outbox_id
        for recipient in message.recipients:
            recipient["outbox_id"] = outbox_id
    connection.execute(insert(outbox_recipients), [r for m in built for r in m.recipients])
    return built


def queue_many(
    ctx: AppContext, *, workspace_id: int, requests: Sequence[SendRequest]
) -> list[Queued]:
    """Queue several messages in one transaction: all of them, or none.

    Everything is validated and built before the first write.
    """
    now = ctx.clock.now()
    with ctx.engine.begin() as connection:
        return write(
            connection, build(connection, workspace_id=workspace_id, requests=requests, now=now)
        )


def _replayed(ctx: AppContext, *, workspace_id: int, key: str, fingerprint: str) -> Replayed | None:
    with ctx.engine.connect() as connection:
        outbox_id = idempotency.find(
            connection, workspace_id=workspace_id, key=key, fingerprint=fingerprint
        )
    return None if outbox_id is None else Replayed(outbox_id)


def queue_once(
    ctx: AppContext, *, workspace_id: int, request: SendRequest, idempotency_key: str | None
) -> Queued | Replayed:
    """Queue one message; with a key, at most once per (workspace, key) within the retention.

    The same key with the same request answers with the message the first request created
    (:class:`Replayed`); with a different request it is refused (422, as the IETF draft says).
    The key row and the message are written in one transaction, so two identical requests racing
    each other create one message: the loser's insert hits the unique key and it reads the
    winner's message instead.
    """
    if idempotency_key is None:
        return queue_many(ctx, workspace_id=workspace_id, requests=[request])[0]
    key = idempotency.normalise_key(idempotency_key)
    fingerprint = idempotency.fingerprint(request)
    now = ctx.clock.now()
    idempotency.purge_expired(ctx.engine, now=now)
    found = _replayed(ctx, workspace_id=workspace_id, key=key, fingerprint=fingerprint)
    if found is not None:
        return found
    try:
        with ctx.engine.begin() as connection:
            built = build(connection, workspace_id=workspace_id, requests=[request], now=now)
            queued = write(connection, built)[0]
            idempotency.claim(
                connection,
                workspace_id=workspace_id,
                key=key,
                fingerprint=fingerprint,
                outbox_id=queued.row["id"],
                now=now,
            )
            return queued
    except IntegrityError:
        found = _replayed(ctx, workspace_id=workspace_id, key=key, fingerprint=fingerprint)
        if found is None:
            raise
        return found


def replayed_summary(ctx: AppContext, *, workspace_id: int, outbox_id: int) -> dict[str, Any]:
    """:meth:`Queued.summary` of a message queued earlier, with its current status."""
    columns = outbox_messages.c
    query = select(columns.workspace_id, columns.id, columns.message_id, columns.status)
    with ctx.engine.connect() as connection:
        found = connection.execute(query.where(columns.id == outbox_id)).first()
    if found is None or found.workspace_id != workspace_id:
        raise NotFoundError(ErrorCode.OUTBOX_NOT_FOUND, params={"id": outbox_id})
    return {"id": found.id, "message_id": found.message_id, "status": found.status}


def check_many(
    ctx: AppContext, *, workspace_id: int, requests: Sequence[SendRequest]
) -> dict[int, FluenzrError]:
    """Validate each request as :func:`queue_many` would, writing nothing: errors by index.

    Lets a bulk caller refuse a whole file before its first write and name every bad item.
    """
    now = ctx.clock.now()
    errors: dict[int, FluenzrError] = {}
    with ctx.engine.connect() as connection:
        senders: dict[int, Sender] = {}
        for index, request in enumerate(requests):
            try:
                account = _cached_sender(
                    connection, senders, workspace_id=workspace_id, request=request
                )
                queued = _queued(
                    workspace_id=workspace_id, account=account, request=request, now=now
                )
                emails = [r["email"] for r in queued.recipients]
                suppression.refuse_suppressed(connection, workspace_id=workspace_id, emails=emails)
            except FluenzrError as error:
                errors[index] = error
    return errors


__all__ = [
    "MAX_RECIPIENTS",
    "MAX_SUBJECT",
    "Queued",
    "Replayed",
    "SendRequest",
    "build",
    "check_many",
    "parse_address",
    "queue_many",
    "queue_once",
    "replayed_summary",
    "write",
]
