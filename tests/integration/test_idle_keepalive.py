"""IDLE keep-alives do not wake the watcher: only new mail (EXISTS) ends a wait early.

Dovecot sends "* OK Still here" every couple of minutes to each IDLE session; if each one ended
the wait, every watched mailbox would resync (EXAMINE, SEARCH, a database write) per keep-alive.
An in-process IMAP server (tests/support/fault_imap) pushes exactly the lines chosen here.
"""

from __future__ import annotations

import asyncio

from fluenzr.core.endpoints import Security
from fluenzr.detection.imap_adapter import open_mailbox
from tests.support.fault_imap import ImapFaults, imap_server

STILL_HERE = "* OK Still here"


async def test_keepalives_then_new_mail_end_one_idle_with_a_change() -> None:
    faults = ImapFaults(implicit_tls=True, idle_pushes=(STILL_HERE, STILL_HERE, "* 1 EXISTS"))
    async with imap_server(faults) as server:
        mailbox = await open_mailbox(server.endpoint(Security.SSL), seconds=5)
        try:
            await mailbox.examine("INBOX")
            mailbox.unsynced_change = False  # as after the catch-up's SEARCH
            changed = await mailbox.wait_for_change(seconds=30, stop=asyncio.Event())
        finally:
            await mailbox.close()
    assert changed is True
    assert server.commands.count("IDLE") == 1  # the keep-alives did not end the IDLE
    assert server.commands.count("DONE") == 1


async def test_only_keepalives_mean_no_change_and_stop_ends_the_wait() -> None:
    faults = ImapFaults(implicit_tls=True, idle_pushes=(STILL_HERE, STILL_HERE))
    async with imap_server(faults) as server:
        mailbox = await open_mailbox(server.endpoint(Security.SSL), seconds=5)
        stop = asyncio.Event()
        try:
            await mailbox.examine("INBOX")
            mailbox.unsynced_change = False
            waiting = asyncio.ensure_future(mailbox.wait_for_change(seconds=300, stop=stop))
            await asyncio.wait_for(server.idle_pushed.wait(), 5)
            await asyncio.sleep(0.05)  # the client reads the pushes (loopback: microseconds)
            assert not waiting.done()  # …and do not end the wait
            stop.set()
            changed = await asyncio.wait_for(waiting, 5)
        finally:
            await mailbox.close()
    assert changed is False
    assert server.commands.count("IDLE") == 1
