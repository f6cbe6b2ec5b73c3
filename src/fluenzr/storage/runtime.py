"""What the domain (sending, detection, diagnose) may use of the application context.

``services.context.AppContext`` satisfies this structurally; the domain never imports services.
Anything more a domain package needs (opening credentials, say) it receives as a callable from
the composition root (``services.runtime``).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fluenzr.config import Settings
from fluenzr.core.clock import Clock


class Runtime(Protocol):
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
