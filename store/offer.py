"""The read behind the follow-up offer: the people an interaction is the first and only
interaction with, who have no open reminder yet."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store import tables
from store.contacts import READ_COLUMNS

c = tables.contacts.c
p = tables.interaction_participants.c
r = tables.reminders.c


async def new_people(
    conn: AsyncConnection, *, owner_id: UUID, interaction_id: UUID
) -> list[sa.RowMapping]:
    """Return the interaction's living, unarchived contacts with nothing else logged and no
    open reminder about them (a one-time one not done, or a repeating one), by name."""
    q = tables.interaction_participants.alias("q")
    anything_else = sa.exists(
        sa.select(1).where(
            q.c.owner_id == owner_id,
            q.c.contact_id == c.id,
            q.c.alive,
            q.c.interaction_id != interaction_id,
        )
    )
    open_reminder = sa.exists(
        sa.select(1).where(
            r.owner_id == owner_id,
            r.contact_id == c.id,
            r.cl % 2 == 1,
            sa.or_(r.repeat_unit.is_not(None), r.completed_through.is_(None)),
        )
    )
    query = (
        sa.select(*READ_COLUMNS)
        .join(
            tables.interaction_participants,
            sa.and_(p.owner_id == c.owner_id, p.contact_id == c.id),
        )
        .where(
            p.owner_id == owner_id,
            p.interaction_id == interaction_id,
            p.alive,
            c.cl % 2 == 1,
            c.stage != "ARCHIVED",
            ~anything_else,
            ~open_reminder,
        )
        .order_by(c.sort_name, c.id)
    )
    return list((await conn.execute(query)).mappings().all())
