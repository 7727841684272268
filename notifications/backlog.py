"""The planner's backlog: owners that need planning, claimed by lock, marked planned.

An owner needs planning when a write marked them (``sync_owners.needs_plan``, set by the
sync write path with the version bump), when they have no plan yet or their settings reset it
(``planner_owners.planned_at`` NULL), or when their plan is an hour old (the window moves on
with the clock). Each is found through an index, so an idle pass reads no owner row. A pass
claims owners by locking their ``planner_owners`` rows (``SKIP LOCKED``), so workers share
planning, and a settings change waits for the pass in progress.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

REPLAN_AFTER = timedelta(hours=1)

_ADD_MISSING = sa.text(
    "INSERT INTO planner_owners (owner_id)"
    " SELECT o.owner_id FROM sync_owners AS o"
    " WHERE NOT EXISTS (SELECT FROM planner_owners AS p WHERE p.owner_id = o.owner_id)"
    " ON CONFLICT DO NOTHING"
)
_ADD_THESE = sa.text(
    "INSERT INTO planner_owners (owner_id)"
    " SELECT o.owner_id FROM sync_owners AS o WHERE o.owner_id = ANY(CAST(:owners AS uuid[]))"
    " ON CONFLICT DO NOTHING"
)

# Two statements, each walking its own index; the second leaves out the owners the first
# locked (a transaction's own locks are not skipped). {lock} is empty for a mere look. Each
# also tests a column of the locked planner row: an owner another pass planned and committed
# while this statement ran is re-checked against that row's new version, and left out.
_MARKED = (
    "SELECT o.owner_id, o.version FROM sync_owners AS o"
    " JOIN planner_owners AS p ON p.owner_id = o.owner_id"
    " WHERE o.needs_plan AND o.version > p.planned_version LIMIT :limit{lock}"
)
_STALE = (
    "SELECT p.owner_id, o.version FROM planner_owners AS p"
    " JOIN sync_owners AS o ON o.owner_id = p.owner_id"
    " WHERE (p.planned_at IS NULL OR p.planned_at < :stale_before)"
    " AND p.owner_id <> ALL(CAST(:taken AS uuid[]))"
    " LIMIT :limit{lock}"
)
_SKIP_LOCKED = " FOR UPDATE OF p SKIP LOCKED"

# Named owners, their locks waited for, in one order (two callers cannot deadlock).
_LOCK = sa.text(
    "SELECT p.owner_id, o.version FROM planner_owners AS p"
    " JOIN sync_owners AS o ON o.owner_id = p.owner_id"
    " WHERE p.owner_id = ANY(CAST(:owners AS uuid[]))"
    " ORDER BY p.owner_id FOR UPDATE OF p"
)

_PLANNED = sa.text(
    "UPDATE planner_owners AS p SET planned_version = v.version, planned_at = :now"
    " FROM unnest(CAST(:owners AS uuid[]), CAST(:versions AS bigint[])) AS v(owner_id, version)"
    " WHERE p.owner_id = v.owner_id"
).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True)))
# A mark is cleared only where the version is still the one planned, and owners a writer
# holds are skipped, never waited for: a write that landed or is landing keeps its mark.
_CLEAR_MARKS = sa.text(
    "WITH done AS ("
    " SELECT o.owner_id FROM sync_owners AS o,"
    " unnest(CAST(:owners AS uuid[]), CAST(:versions AS bigint[])) AS v(owner_id, version)"
    " WHERE o.owner_id = v.owner_id AND o.version = v.version AND o.needs_plan"
    " FOR UPDATE OF o SKIP LOCKED)"
    " UPDATE sync_owners AS o SET needs_plan = false FROM done WHERE o.owner_id = done.owner_id"
)


def needing_plan(now: datetime, *, lock: bool) -> tuple[sa.TextClause, sa.TextClause]:
    """The two statements that find owners needing planning (locking them, or not)."""
    suffix = _SKIP_LOCKED if lock else ""
    marked = sa.text(_MARKED.format(lock=suffix))
    stale = sa.text(_STALE.format(lock=suffix)).bindparams(
        sa.bindparam("stale_before", now - REPLAN_AFTER, type_=sa.DateTime(timezone=True))
    )
    return marked, stale


async def add_missing_owners(engine: AsyncEngine, owner_ids: Sequence[UUID] | None = None) -> None:
    """Give owners (all, or these) a planner_owners row, so a pass can claim them by lock.

    Sign-up gives each user theirs; this is for owners made another way (the benchmark's
    generated ones) and for ``plan_owners``' named owners.

    A statement of its own, committed before any pass locks: two passes inserting the same
    new owner then never wait on each other's uncommitted row.
    """
    async with engine.begin() as conn:
        if owner_ids is None:
            await conn.execute(_ADD_MISSING)
        else:
            await conn.execute(_ADD_THESE, {"owners": list(owner_ids)})


async def claim_owners(conn: AsyncConnection, now: datetime, limit: int) -> dict[UUID, int]:
    """Lock up to ``limit`` owners that need planning (skipping locked ones); their versions.

    The version is read with the lock: a write committed after it bumps the version past it,
    so the owner's mark is not cleared and they are planned again.
    """
    return await _find(conn, now, limit, lock=True)


async def owners_to_plan(engine: AsyncEngine, now: datetime, limit: int | None) -> list[UUID]:
    """The owners a pass would claim now (without claiming them)."""
    async with engine.connect() as conn:
        return list(await _find(conn, now, limit if limit is not None else 2**31 - 1, lock=False))


async def _find(conn: AsyncConnection, now: datetime, limit: int, *, lock: bool) -> dict[UUID, int]:
    marked, stale = needing_plan(now, lock=lock)
    versions = {row.owner_id: row.version for row in await conn.execute(marked, {"limit": limit})}
    if len(versions) < limit:
        rows = await conn.execute(stale, {"taken": list(versions), "limit": limit - len(versions)})
        versions |= {row.owner_id: row.version for row in rows}
    return versions


async def lock_owners(conn: AsyncConnection, owner_ids: Sequence[UUID]) -> dict[UUID, int]:
    """Lock these owners' planner rows, waiting for passes that hold them; their versions."""
    locked = await conn.execute(_LOCK, {"owners": list(owner_ids)})
    return {row.owner_id: row.version for row in locked}


async def mark_planned(conn: AsyncConnection, versions: Mapping[UUID, int], now: datetime) -> None:
    """Record that these locked owners were planned now, at these versions."""
    planned = {"owners": list(versions), "versions": list(versions.values())}
    await conn.execute(_PLANNED, {**planned, "now": now})
    await conn.execute(_CLEAR_MARKS, planned)
