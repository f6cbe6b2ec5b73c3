"""The outbox's state names, apart from the models so a Core-only writer needs no ORM.

``fluenzr send`` queues through SQLAlchemy Core (:mod:`fluenzr.storage.outbox_tables`); the
models (:mod:`fluenzr.storage.models.outbox`) use these same constants.
"""

from __future__ import annotations

# Message states. ``deferred`` waits for a retry time; ``needs_review`` is a message a crash left
# between "about to send DATA" and "server said 250": it is never re-sent blindly.
QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
DEFERRED = "deferred"
FAILED = "failed"
CANCELLED = "cancelled"
NEEDS_REVIEW = "needs_review"
STATUSES = (QUEUED, SENDING, SENT, DEFERRED, FAILED, CANCELLED, NEEDS_REVIEW)
PENDING = (QUEUED, DEFERRED)  # waiting for the worker

# Copy-to-Sent states (only when the account has IMAP).
COPY_NONE = "none"
COPY_PENDING = "pending"
COPY_DONE = "done"
COPY_FAILED = "failed"
