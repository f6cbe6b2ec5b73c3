"""Set-up shared by the detection benchmarks: node client, FluenzR app, mailbox contents."""

from __future__ import annotations

import email.utils
import json
import os
import pwd
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from tests.support.mailservers import CA_FILE, HOST, IMAPS_PORT, MAIL_DIR, MailUser

from fluenzr.config import load_settings
from fluenzr.core.secret import Secret
from fluenzr.services.account_config import AccountInput
from fluenzr.services.accounts import create_account
from fluenzr.services.context import AppContext, default_workspace_id, open_app
from fluenzr.storage.engine import transaction
from fluenzr.storage.models.outbox import SENT, OutboxMessage, OutboxRecipient

HERE = Path(__file__).parent


def ensure_imapflow() -> None:
    """Install the reference client into benchmarks/detect/node_modules (once)."""
    if (HERE / "node_modules" / "imapflow").exists():
        return
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed for the imapflow reference (apt-get install -y npm)")
    subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=HERE, check=True)


def start_imapflow(config: Path, users: list[MailUser], *, port: int) -> subprocess.Popen[str]:
    """The reference client holding one IDLE session per user (``imapflow_idle.mjs``), once
    it printed ``ready``; its stdout then carries its ``exists`` lines."""
    entries = [{"user": u.email, "pass": u.password} for u in users]
    config.write_text(json.dumps({"host": HOST, "port": port, "ca": CA_FILE, "users": entries}))
    node = subprocess.Popen(
        ["node", str(HERE / "imapflow_idle.mjs"), str(config)],
        cwd=HERE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert node.stdout is not None
    line = node.stdout.readline()
    if not line.startswith("ready"):
        node.kill()
        node.wait()
        raise SystemExit(f"imapflow reference failed: {line!r}")
    return node


@contextmanager
def bench_app(home: Path) -> Iterator[AppContext]:
    import email_validator

    email_validator.TEST_ENVIRONMENT = True  # accounts on the reserved .test domain
    ctx = open_app(load_settings(home=home))
    try:
        yield ctx
    finally:
        ctx.close()


def add_account(ctx: AppContext, user: MailUser, *, imap_port: int = IMAPS_PORT) -> int:
    return create_account(
        ctx,
        workspace_id=default_workspace_id(ctx.sessions),
        data=AccountInput(
            email=user.email,
            smtp_host=HOST,
            smtp_port=10587,
            smtp_security="starttls",
            password=Secret(user.password),
            imap_host=HOST,
            imap_port=imap_port,
            imap_security="ssl",
            smtp_ca_pem=Path(CA_FILE).read_text(),
            imap_ca_pem=Path(CA_FILE).read_text(),
        ),
    ).id


def add_sent(ctx: AppContext, *, account_id: int, sender: str, to: list[str]) -> list[str]:
    """Outbox rows marked sent an hour ago, one per recipient; returns their Message-IDs."""
    workspace = default_workspace_id(ctx.sessions)
    now = ctx.clock.now() - timedelta(hours=1)
    ids = []
    with transaction(ctx.sessions) as session:
        for number, address in enumerate(to):
            msgid = f"bench.{account_id}.{number}.{random.getrandbits(40):x}@fluenzr.test"
            row = OutboxMessage(
                workspace_id=workspace,
                account_id=account_id,
                message_id=msgid,
                envelope_from=sender,
                subject=f"Idea {number} for your team",
                mime=b"",
                status=SENT,
                attempts=1,
                stop_on_reply=True,
                sent_copy="none",
                copy_attempts=0,
                sent_at=now,
                created_at=now,
            )
            session.add(row)
            session.flush()
            session.add(OutboxRecipient(outbox_id=row.id, email=address, kind="to", status=SENT))
            ids.append(msgid)
    return ids


def fill_maildir(user: MailUser, messages: list[bytes]) -> None:
    """Drop messages straight into the user's Maildir/new (fast; Dovecot indexes on open)."""
    local, domain = user.email.split("@")
    root = MAIL_DIR / "vmail" / domain / local / "Maildir"
    mail = pwd.getpwnam("mail")
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for folder in (root.parent, root, root / "cur", root / "new", root / "tmp"):
        os.chown(folder, mail.pw_uid, mail.pw_gid)
    stamp = int(time.time())
    for number, raw in enumerate(messages):
        path = root / "new" / f"{stamp}.M{number}P{os.getpid()}.bench"
        path.write_bytes(raw.replace(b"\r\n", b"\n"))
        os.chown(path, mail.pw_uid, mail.pw_gid)


FILLER = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. "
) * 12


def _headers(sender: str, to: str, subject: str, extra: str = "") -> str:
    return (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\n"
        f"Message-ID: {email.utils.make_msgid(domain='example.com')}\n"
        f"Date: {email.utils.formatdate()}\nMIME-Version: 1.0\n{extra}"
    )


def mailbox_mix(count: int, *, owner: str, sent_ids: list[str], sent_to: list[str]) -> list[bytes]:
    """A realistic outreach INBOX: mostly unrelated mail, some replies, auto-replies, bounces."""
    rng = random.Random(42)
    out: list[bytes] = []
    for number in range(count):
        roll = rng.random()
        pick = rng.randrange(len(sent_ids))
        ref, prospect = sent_ids[pick], sent_to[pick]
        if roll < 0.05:
            head = _headers(
                prospect,
                owner,
                f"Re: Idea {pick} for your team",
                f"In-Reply-To: <{ref}>\nReferences: <{ref}>\n",
            )
            body = f"Sounds good, call me Tuesday.\n\nOn Mon, {owner} wrote:\n> {FILLER}\n"
        elif roll < 0.07:
            head = _headers(
                prospect,
                owner,
                "Automatic reply: Idea",
                f"In-Reply-To: <{ref}>\nAuto-Submitted: auto-replied\n",
            )
            body = "I am out of the office until 5 January 2027.\n"
        elif roll < 0.08:
            head = _headers(
                "MAILER-DAEMON@mx.example.net (Mail Delivery System)",
                owner,
                "Undelivered Mail Returned to Sender",
                'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n',
            )
            body = (
                f"--b\nContent-Type: text/plain\n\n<{prospect}>: 550 5.1.1 User unknown\n"
                f"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
                f"Final-Recipient: rfc822; {prospect}\nAction: failed\nStatus: 5.1.1\n\n"
                f"--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: <{ref}>\n\n--b--\n"
            )
        elif roll < 0.30:
            head = _headers(
                "news@shop.example",
                owner,
                f"Deals of the week #{number}",
                "List-Id: <deals.shop.example>\nPrecedence: bulk\n",
            )
            body = FILLER * 3
        else:
            head = _headers(
                f"colleague{number % 50}@corp.example", owner, f"Meeting notes {number}"
            )
            body = FILLER
        out.append(
            f"{head}Content-Type: text/plain; charset=utf-8\n\n{body}".encode()
            if "Content-Type" not in head
            else f"{head}\n{body}".encode()
        )
    return out


def remove_users(users: list[MailUser]) -> None:
    """Delete the benchmark's own users and their Maildirs from the shared test server."""
    for user in users:
        local, domain = user.email.split("@")
        (MAIL_DIR / "users.d" / user.email).unlink(missing_ok=True)
        shutil.rmtree(MAIL_DIR / "vmail" / domain / local, ignore_errors=True)


def rss_mb(pid: int | None = None) -> float:
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
