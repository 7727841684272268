"""A streaming replica for pulled pages and insights, with read-your-writes per owner.

With ``RAPPORT_DATABASE_REPLICA_URL`` set, a pull reads the owner's version on the primary
first (the one statement that answers most pulls: nothing new), and reads the page from the
replica only if the replica's snapshot has that owner at that version or later: every commit
the primary had made for the owner when the pull began, the client's own writes included, is
on the replica. Otherwise, a lagging replica, the page is read on the primary.

Insight reads do the same through ``reading``. The replica is looked up from the primary
engine, so that the read paths keep taking one engine, as every other read does.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

READS = Counter(
    "rapport_replica_reads",
    "Pulled pages and insight reads, by where: the replica, or the primary while it lagged.",
    ["source"],
)

_replicas: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def attach_replica(primary: AsyncEngine, replica: AsyncEngine) -> None:
    """Let reads through ``primary`` that allow it go to ``replica``."""
    _replicas[primary] = replica


def replica_of(primary: AsyncEngine) -> AsyncEngine | None:
    return _replicas.get(primary)


_OWNER_VERSION = sa.text("SELECT version FROM sync_owners WHERE owner_id = :owner")


@asynccontextmanager
async def reading(primary: AsyncEngine, owner_id: UUID) -> AsyncIterator[AsyncConnection]:
    """A connection for reads of one owner's data: on the replica, in one snapshot, if it has
    the owner's version of the primary (read-your-writes, as pulls); else on the primary."""
    replica = replica_of(primary)
    if replica is None:
        async with primary.connect() as conn:
            yield conn
        return
    async with primary.connect() as conn:
        version = await conn.scalar(_OWNER_VERSION, {"owner": owner_id})
    async with replica.connect() as raw:
        conn = await raw.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        async with conn.begin():
            if (await conn.scalar(_OWNER_VERSION, {"owner": owner_id}) or 0) >= (version or 0):
                READS.labels("replica").inc()
                yield conn
                return
    READS.labels("primary").inc()
    async with primary.connect() as conn:
        yield conn
