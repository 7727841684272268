"""Tombstones: deleted rows are kept so every device learns of the delete, then purged.

After the retention period a deleted row is removed for good, and the owner's
``purged_through`` moves to the newest version purged; a device whose cursor is older than
that may have missed a delete, so its next pull answers ``reset``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store import tables

DEFAULT_RETENTION = timedelta(days=180)

# Memberships and interactions first, then tags and contacts (whose removal cascades to the
# memberships and participations that still point at them).
_PURGEABLE = (
    tables.contact_tags,
    tables.event_attendees,
    tables.interactions,
    tables.reminders,
    tables.goals,
    tables.events,
    tables.tags,
    tables.contacts,
)


async def purge_tombstones(engine: AsyncEngine, *, before: datetime) -> dict[UUID, int]:
    """Delete rows deleted before ``before``; return how many rows each owner lost."""
    counts: dict[UUID, int] = {}
    horizon: dict[UUID, int] = {}

    def note(rows: Sequence[Any]) -> None:
        for owner_id, version in rows:
            counts[owner_id] = counts.get(owner_id, 0) + 1
            horizon[owner_id] = max(horizon.get(owner_id, 0), version)

    async with engine.begin() as conn:
        for table in _PURGEABLE:
            deleted = sa.delete(table).where(table.c.cl % 2 == 0, table.c.updated_at < before)
            returning = deleted.returning(table.c.owner_id, table.c.server_version)
            note((await conn.execute(returning)).all())
        # Interactions whose every contact is gone can never be seen again.
        i, p = tables.interactions, tables.interaction_participants
        orphans = sa.delete(i).where(
            ~sa.exists().where(p.c.owner_id == i.c.owner_id, p.c.interaction_id == i.c.id),
            i.c.updated_at < before,
        )
        note((await conn.execute(orphans.returning(i.c.owner_id, i.c.server_version))).all())
        owners = tables.sync_owners
        for owner_id, version in horizon.items():
            await conn.execute(
                sa.update(owners)
                .where(owners.c.owner_id == owner_id, owners.c.purged_through < version)
                .values(purged_through=version)
            )
    return counts
