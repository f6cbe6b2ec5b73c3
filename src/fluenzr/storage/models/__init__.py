"""Every model module is imported here so metadata and Alembic see all tables.

Each area owns its module: accounts (foundation), events (shared), outbox (sending),
detection (reply detection), users (web).
"""

from fluenzr.storage.base import Base
from fluenzr.storage.models.accounts import Account, OAuthFlow, Workspace
from fluenzr.storage.models.detection import Suppression  # noqa: F401  (detection)
from fluenzr.storage.models.domain_checks import DomainCheck  # noqa: F401  (deliverability)
from fluenzr.storage.models.events import Event
from fluenzr.storage.models.fleet import AccountTag  # noqa: F401  (fleets: tags, leases)
from fluenzr.storage.models.idempotency import IdempotencyKey  # noqa: F401  (sending: keys)
from fluenzr.storage.models.inbox_marks import ReplyMark  # noqa: F401  (web: marks, notifications)
from fluenzr.storage.models.outbox import OutboxMessage  # noqa: F401  (sending: outbox)
from fluenzr.storage.models.users import User  # noqa: F401  (web: users, sessions, tokens, jobs)
from fluenzr.storage.models.vault import VaultKey  # noqa: F401  (foundation: vault key ids)

__all__ = ["Account", "Base", "Event", "OAuthFlow", "Workspace"]
