"""Reads and writes behind duplicate candidates: who might be whom, and pairs ruled out."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store import tables

_c = tables.contacts.c
_d = tables.duplicate_dismissals.c


async def identities(conn: AsyncConnection, *, owner_id: UUID) -> list[sa.RowMapping]:
    """The living contacts' names, company and contact points: what duplicates are found by."""
    query = (
        sa.select(_c.id, _c.first_name, _c.last_name, _c.company, _c.emails, _c.phones, _c.urls)
        .where(_c.owner_id == owner_id, _c.cl % 2 == 1)
        .order_by(_c.id)
    )
    return list((await conn.execute(query)).mappings().all())


async def dismissed_pairs(conn: AsyncConnection, *, owner_id: UUID) -> set[tuple[UUID, UUID]]:
    """Pairs the user said are different people, each as (smaller id, larger id)."""
    query = sa.select(_d.contact_a, _d.contact_b).where(_d.owner_id == owner_id)
    return {(row.contact_a, row.contact_b) for row in await conn.execute(query)}


async def existing_contacts(
    conn: AsyncConnection, *, owner_id: UUID, contact_ids: list[UUID]
) -> set[UUID]:
    """Which of the ids name contacts of the owner (deleted ones included)."""
    query = sa.select(_c.id).where(_c.owner_id == owner_id, _c.id.in_(contact_ids))
    return set((await conn.scalars(query)).all())


async def dismiss_pair(
    conn: AsyncConnection, *, owner_id: UUID, a: UUID, b: UUID, now: datetime
) -> None:
    """Remember that two contacts are not one person; dismissing twice changes nothing."""
    low, high = sorted((a, b))
    await conn.execute(
        pg_insert(tables.duplicate_dismissals)
        .values(owner_id=owner_id, contact_a=low, contact_b=high, created_at=now)
        .on_conflict_do_nothing()
    )
