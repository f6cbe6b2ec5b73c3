"""Passwords of a rejected form, kept server-side for the re-post (never rendered into HTML).

When "Guardar" is refused (a typo in another field), the page comes back with every value the
user typed except the passwords: those stay in this process's memory under a random draft id
(a hidden field), tied to the signed-in user, for a few minutes. Posting the form again with
the password fields blank uses them; typing a new one replaces them. Another user, an expired
or unknown id, or another server process (several web processes behind a balancer) find
nothing: the form then simply asks for the password again.

Bounded: at most ``MAX_DRAFTS`` drafts (the oldest go first), each for ``TTL`` seconds.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fluenzr.core.secret import Secret

TTL = 15 * 60.0
MAX_DRAFTS = 1000
_ID_LENGTH = 32


@dataclass(frozen=True)
class _Draft:
    user_id: int
    expires: float
    secrets: dict[str, Secret]


class PasswordDrafts:
    def __init__(
        self,
        *,
        ttl: float = TTL,
        limit: int = MAX_DRAFTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl, self._limit, self._clock = ttl, limit, clock
        self._drafts: OrderedDict[str, _Draft] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, *, user_id: int, kept: Mapping[str, Secret], draft_id: str = "") -> str:
        """Store (or replace) the passwords of a draft; returns its id ("" when none to keep)."""
        if not kept:
            self.drop(draft_id)
            return ""
        new_id = secrets.token_urlsafe(24)
        with self._lock:
            self._drafts.pop(draft_id, None)
            self._expire()
            self._drafts[new_id] = _Draft(user_id, self._clock() + self._ttl, dict(kept))
            while len(self._drafts) > self._limit:
                self._drafts.popitem(last=False)
        return new_id

    def take(self, draft_id: str, *, user_id: int) -> dict[str, Secret]:
        """The kept passwords of this user's draft ({} if unknown, expired or someone else's)."""
        if not draft_id or len(draft_id) > _ID_LENGTH + 8:
            return {}
        with self._lock:
            self._expire()
            draft = self._drafts.get(draft_id)
        if draft is None or draft.user_id != user_id:
            return {}
        return dict(draft.secrets)

    def drop(self, draft_id: str) -> None:
        with self._lock:
            self._drafts.pop(draft_id, None)

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, d in self._drafts.items() if d.expires <= now]:
            del self._drafts[key]

    def __len__(self) -> int:
        return len(self._drafts)
