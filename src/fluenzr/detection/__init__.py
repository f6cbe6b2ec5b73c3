"""Reply detection: classify incoming mail, match it to what we sent, watch IMAP, notify.

Pure parts (no I/O): :mod:`classify` (and its tables in :mod:`bounces`, :mod:`autoreplies`,
:mod:`quotes`, :mod:`subjects`). With the database: :mod:`matching`, :mod:`consequences`.
With the network: :mod:`watcher` (IMAP) and :mod:`webhooks` (HTTP).
"""
