"""A streaming replica for pulled pages and insights, with read-your-writes per owner.

With ``RAPPORT_DATABASE_REPLICA_URL`` set, a pull reads the owner's version on the primary
first (the one statement that answers most pulls: nothing new), and reads the page from the
replica only if the replica's snapshot has that owner at that version or later: every commit
the primary had made for the owner when the pull began, the client's own writes included, is
on the replica. Otherwise, a lagging replica, the page is read on the primary.

Insight reads do the same through ``reading``. The replica is looked up from the primary
engine, so that the read paths keep taking one engine, as every other read does.

An export reads more than what moves the owner's version (the worker's delivery history, the
owner's settings), so it is fenced by WAL position instead (``snapshot_after``): the primary's
position when the download starts, which the replica must have replayed before the snapshot
is taken.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

READS = Counter(
    "rapport_replica_reads",
    "Pulled pages, insight reads and exports, by where: the replica, or the primary while it "
    "lagged.",
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


# How long an export waits for the replica to replay the primary's position before reading
# the primary instead. Streaming replicas replay within milliseconds; a second means lag.
CATCH_UP_SECONDS = 1.0
_POLL_SECONDS = 0.02

# The insert position is past the commit record of every transaction that has committed,
# including those acknowledged before their WAL was flushed (synchronous_commit off).
_POSITION = sa.text("SELECT CAST(pg_current_wal_insert_lsn() AS text)")
# NULL (not a standby) is never caught up.
_REPLAYED = sa.text(
    "SELECT COALESCE(pg_last_wal_replay_lsn() >= CAST(CAST(:position AS text) AS pg_lsn), false)"
)


async def wal_position(conn: AsyncConnection) -> str | None:
    """The primary's WAL position, for ``snapshot_after``; None where there is no replica."""
    if replica_of(conn.engine) is None:
        return None
    position: str = await conn.scalar(_POSITION)
    return position


async def _replayed(conn: AsyncConnection, position: str, wait: float) -> bool:
    for attempt in range(max(1, round(wait / _POLL_SECONDS)) + 1):
        if attempt:
            await asyncio.sleep(_POLL_SECONDS)
        replayed = await conn.scalar(_REPLAYED, {"position": position})
        # Out of the transaction this check began: the snapshot must be taken after it.
        await conn.rollback()
        if replayed:
            return True
    return False


@asynccontextmanager
async def snapshot_after(
    primary: AsyncEngine, position: str | None, *, wait: float = CATCH_UP_SECONDS
) -> AsyncIterator[AsyncConnection]:
    """A read-only, repeatable-read snapshot that holds every commit made before ``position``
    (``wal_position`` on the primary): on the replica once it has replayed that far, waiting
    up to ``wait`` seconds, else on the primary.

    The replay position is checked before the snapshot's first statement, and replay only moves
    forward, so the snapshot holds whatever was replayed by then. A transaction commits on a
    standby when its commit record is replayed, in WAL order, so the snapshot holds every
    commit acknowledged before ``position`` was read, whoever wrote it.
    """
    replica = replica_of(primary)
    if replica is not None and position is not None:
        async with replica.connect() as raw:
            if await _replayed(raw, position, wait):
                conn = await raw.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
                async with conn.begin():
                    READS.labels("replica").inc()
                    yield conn
                    return
    if replica is not None:
        READS.labels("primary").inc()
    async with primary.connect() as raw:
        conn = await raw.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        async with conn.begin():
            yield conn
