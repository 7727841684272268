"""A streaming replica for pulled pages, with read-your-writes per owner.

With ``RAPPORT_DATABASE_REPLICA_URL`` set, a pull reads the owner's version on the primary
first (the one statement that answers most pulls: nothing new), and reads the page from the
replica only if the replica's snapshot has that owner at that version or later: every commit
the primary had made for the owner when the pull began, the client's own writes included, is
on the replica. Otherwise, a lagging replica, the page is read on the primary.

The replica is looked up from the primary engine, so that the read paths keep taking one
engine, as every other read does.
"""

from __future__ import annotations

import weakref

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncEngine

READS = Counter(
    "rapport_replica_page_reads",
    "Pulled pages read, by where: the replica, or the primary while the replica lagged.",
    ["source"],
)

_replicas: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def attach_replica(primary: AsyncEngine, replica: AsyncEngine) -> None:
    """Let reads through ``primary`` that allow it go to ``replica``."""
    _replicas[primary] = replica


def replica_of(primary: AsyncEngine) -> AsyncEngine | None:
    return _replicas.get(primary)
