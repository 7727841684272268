"""Reading tags and which contacts carry them."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store import rows, tables

t = tables.tags.c
ct = tables.contact_tags.c


async def list_tags(conn: AsyncConnection, *, owner_id: UUID) -> list[sa.RowMapping]:
    """Return the owner's living tags by name."""
    query = (
        sa.select(tables.tags)
        .where(t.owner_id == owner_id, t.cl % 2 == 1)
        .order_by(t.name_key, t.id)
    )
    return list((await conn.execute(query)).mappings().all())


async def tags_of_contacts(
    conn: AsyncConnection, *, owner_id: UUID, contact_ids: Sequence[UUID]
) -> dict[UUID, list[sa.RowMapping]]:
    """Return each contact's living tags, by contact id."""
    query = (
        sa.select(ct.contact_id, tables.tags)
        .join(tables.tags, sa.and_(t.owner_id == ct.owner_id, t.id == ct.tag_id))
        .where(
            ct.owner_id == owner_id,
            ct.contact_id.in_(list(contact_ids)),
            ct.cl % 2 == 1,
            t.cl % 2 == 1,
        )
        .order_by(ct.contact_id, t.name_key)
    )
    return await rows.fetch_grouped(conn, query, "contact_id")


async def count_tagged(
    conn: AsyncConnection, *, owner_id: UUID, tag_ids: Sequence[UUID]
) -> dict[UUID, int]:
    """Return how many living contacts carry each tag."""
    c = tables.contacts.c
    query = (
        sa.select(ct.tag_id, sa.func.count())
        .join(tables.contacts, sa.and_(c.owner_id == ct.owner_id, c.id == ct.contact_id))
        .where(ct.owner_id == owner_id, ct.tag_id.in_(list(tag_ids)), ct.cl % 2 == 1, c.cl % 2 == 1)
        .group_by(ct.tag_id)
    )
    return {row[0]: int(row[1]) for row in (await conn.execute(query)).all()}
