"""A private Dovecot for P3, serving the shared test mailboxes on other ports with room for
thousands of IMAP sessions (Dovecot runs one imap process per logged-in user, so the shared test
server's ``process_limit`` caps how many mailboxes can be watched at once).

Rendered from scripts/mailservers/dovecot.conf: same users and Maildirs (mail still arrives
through the shared Postfix → Dovecot LMTP; this instance sees it through the Maildir), its own
run/state/log directories, IMAP only (no LMTP or auth sockets next to Postfix's).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.mailservers import MAIL_DIR
from tests.support.services import port_open

SOURCE = Path(__file__).resolve().parents[2] / "scripts" / "mailservers" / "dovecot.conf"
IMAPS_PORT = 11993


def render(private: Path) -> str:
    lines = SOURCE.read_text().splitlines()
    out: list[str] = []
    skipping = 0
    for line in lines:
        if skipping:
            skipping += line.count("{") - line.count("}")
            continue
        if "unix_listener @DIR@/postfix" in line:
            skipping = line.count("{") - line.count("}")
            continue
        out.append(line)
    text = "\n".join(out) + "\n"
    text = text.replace("@DIR@/run/dovecot-state", str(private / "state"))
    text = text.replace("@DIR@/run/dovecot", str(private / "run"))
    text = text.replace("@DIR@/log/dovecot.log", str(private / "dovecot.log"))
    text = text.replace("protocols = imap lmtp", "protocols = imap")
    text = re.sub(r"instance_name = .*", "instance_name = fluenzr-bench", text)
    text = text.replace("port = 10143", "port = 11143").replace("port = 10993", "port = 11993")
    # One imap process per logged-in user: room for thousands of watched mailboxes.
    text = re.sub(r"(service imap \{[^}]*?process_limit = )\d+", r"\g<1>1500", text)
    return text.replace("@DIR@", str(MAIL_DIR))


@contextmanager
def private_dovecot(private: Path) -> Iterator[int]:
    private.mkdir(parents=True, exist_ok=True)
    config = private / "dovecot.conf"
    config.write_text(render(private))
    subprocess.run(["dovecot", "-c", str(config)], check=True)
    try:
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", IMAPS_PORT):
            if time.monotonic() > deadline:
                raise SystemExit(f"private dovecot did not start; see {private}/dovecot.log")
            time.sleep(0.1)
        yield IMAPS_PORT
    finally:
        subprocess.run(["doveadm", "-c", str(config), "stop"], check=False, capture_output=True)
