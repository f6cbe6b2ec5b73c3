"""Shared set-up of the fleet detection benchmark: a private Dovecot sized for thousands of
IDLE sessions, accounts with one sent message each, worker processes, counts."""

from __future__ import annotations

import email.utils
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select
from tests.support.mailservers import MailUser
from tests.support.services import port_open

from benchmarks.detect.dovecot import render
from benchmarks.detect.support import add_account, add_sent
from fluenzr.services.context import AppContext
from fluenzr.storage.models.detection import ImapSyncState
from fluenzr.storage.models.fleet import MailboxLease

IMAPS_PORT = 12993  # takeover part; the scale part uses SCALE_PORT (both may run at once)
SCALE_PORT = 13993


LOGIN_CLIENTS = 1_000  # TLS connections one imap-login process proxies (2 fds each)
IMAP_CLIENTS = 100  # IDLE sessions one imap process serves (one mailbox index each)


def dovecot_config(
    private: Path, *, sessions: int, port: int = IMAPS_PORT, hibernate: bool = False
) -> str:
    """P3's private Dovecot, on its own ports, sized for ``sessions`` IDLE connections.

    Dovecot's process model for thousands of IDLE sessions (all virtual users share one uid):

    - ``imap-login`` in high-performance mode (``service_count = 0``): long-lived login
      processes, one per core kept ready (``process_min_avail``), each proxying the TLS of
      ``LOGIN_CLIENTS`` connections; more are started when those are full;
    - ``imap`` processes serve ``IMAP_CLIENTS`` sessions each (``service_count = 0``);
    - ``hibernate``: sessions in IDLE for 5 s move to the one ``imap-hibernate`` process
      (``imap_hibernate_timeout``) and come back to an imap process when their mailbox
      changes. Off by default: with it on, FluenzR's woken sessions reported new mail, but
      imapflow's (the reference) never did, and the reference must run on the same server;
    - per-user/IP and total client limits above ``sessions``; the file-descriptor limit
      (``ulimit -n``) must cover 2 × ``LOGIN_CLIENTS`` per login process and ``sessions``
      for the client being measured.
    """
    text = render(private)
    text = text.replace("port = 11143", f"port = {port - 850}")
    text = text.replace("port = 11993", f"port = {port}")
    text = text.replace("instance_name = fluenzr-bench", f"instance_name = fluenzr-fleet{port}")
    room = max(sessions + 2_000, 5_000)
    text = re.sub(r"default_client_limit = \d+", f"default_client_limit = {room}", text)
    text = re.sub(
        r"(service imap \{[^}]*?client_limit = )\d+", rf"\g<1>{IMAP_CLIENTS}", text, flags=re.S
    )
    text = re.sub(
        r"(service imap \{[^}]*?process_limit = )\d+",
        rf"\g<1>{room // IMAP_CLIENTS + 50}",
        text,
        flags=re.S,
    )
    login_processes = room // LOGIN_CLIENTS + 8
    text = re.sub(
        r"(service imap-login \{.*?)process_min_avail = \d+\n\s*client_limit = \d+",
        rf"\g<1>process_min_avail = {os.cpu_count() or 2}\n  client_limit = {LOGIN_CLIENTS}\n"
        rf"  process_limit = {login_processes}",
        text,
        flags=re.S,
    )
    text = re.sub(
        r"mail_max_userip_connections = \d+", f"mail_max_userip_connections = {room}", text
    )
    if hibernate:
        text = _with_hibernation(text, room)
    return text


def _with_hibernation(text: str, room: int) -> str:
    """Hibernation (doc.dovecot.org, "Hibernation"): imap (user mail, extra group dovecot by
    default) hands an idle session to imap-hibernate through its socket; imap-hibernate (user
    dovecot) hands it back through imap-master, which must be dovecot's to open."""
    text = text.replace(
        "service imap {\n",
        "service imap {\n  unix_listener imap-master {\n    user = $default_internal_user\n  }\n",
        1,
    )
    return text + (
        "imap_hibernate_timeout = 5s\n"
        "service imap-hibernate {\n"
        "  unix_listener imap-hibernate {\n"
        "    mode = 0660\n"
        "    group = $default_internal_group\n"
        "  }\n"
        f"  client_limit = {room}\n"
        "}\n"
    )


@contextmanager
def private_dovecot(private: Path, *, sessions: int, port: int = IMAPS_PORT) -> Iterator[str]:
    """Start it; yields its config path (for ``doveadm -c``)."""
    private.mkdir(parents=True, exist_ok=True)
    # Unprivileged Dovecot processes (mail, dovecot) open sockets under base_dir themselves
    # (imap-hibernate, imap-master): the directories on the way must let them through.
    private.parent.chmod(0o711)
    private.chmod(0o755)
    config = private / "dovecot.conf"
    config.write_text(dovecot_config(private, sessions=sessions, port=port))
    subprocess.run(["dovecot", "-c", str(config)], check=True)
    try:
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", port):
            if time.monotonic() > deadline:
                raise SystemExit(f"private dovecot did not start; see {private}/dovecot.log")
            time.sleep(0.1)
        yield str(config)
    finally:
        subprocess.run(["doveadm", "-c", str(config), "stop"], check=False, capture_output=True)


def add_fleet(
    ctx: AppContext, users: list[MailUser], *, port: int = IMAPS_PORT
) -> dict[int, tuple[MailUser, str]]:
    """One account per user on the private Dovecot, each with one sent message."""
    out: dict[int, tuple[MailUser, str]] = {}
    for user in users:
        account_id = add_account(ctx, user, imap_port=port)
        ref = add_sent(ctx, account_id=account_id, sender=user.email, to=["prospect@example.com"])
        out[account_id] = (user, ref[0])
    return out


def reply(owner: str, ref: str) -> bytes:
    return (
        f"From: prospect@example.com\r\nTo: {owner}\r\nSubject: Re: Idea 0 for your team\r\n"
        f"Message-ID: {email.utils.make_msgid(domain='example.com')}\r\n"
        f"In-Reply-To: <{ref}>\r\nDate: {email.utils.formatdate()}\r\n\r\nYes, call me.\r\n"
    ).encode()


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    fluenzr = str(Path(sys.executable).with_name("fluenzr"))
    return subprocess.Popen([fluenzr, "worker", "--only", "detect"], env={**os.environ, **env})


def synced(ctx: AppContext) -> int:
    with ctx.sessions() as session:
        found = session.scalar(select(func.count()).where(ImapSyncState.last_sync_at.is_not(None)))
    return int(found or 0)


def owners(ctx: AppContext) -> dict[int, str]:
    now = ctx.clock.now()
    with ctx.sessions() as session:
        rows = session.execute(
            select(MailboxLease.account_id, MailboxLease.owner).where(
                MailboxLease.owner.is_not(None), MailboxLease.expires_at > now
            )
        )
        return {account_id: str(owner) for account_id, owner in rows}


def sessions_per_user(config: str) -> Counter[str]:
    """IMAP connections the Dovecot at ``config`` has open, per user (``doveadm who``)."""
    out = subprocess.run(
        ["doveadm", "-c", config, "who", "-1"], capture_output=True, text=True, timeout=60
    ).stdout
    found: Counter[str] = Counter()
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[1] == "imap":
            found[parts[0]] += 1
    return found


def wait_for(condition, *, limit: float, what: str, workers=()) -> float:
    started = time.monotonic()
    while not condition():
        for worker in workers:
            if worker.poll() is not None:
                raise SystemExit(f"a worker exited early ({worker.returncode}) waiting for {what}")
        if time.monotonic() - started > limit:
            raise SystemExit(f"{what}: not reached after {limit:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - started
