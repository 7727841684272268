"""Reading interactions, newest first, through the participants index."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from store import keyset, rows, tables

i = tables.interactions.c
p = tables.interaction_participants.c
c = tables.contacts.c
READ_COLUMNS = [col for col in tables.interactions.c if col.name != "field_hlc"]

# A contact's interactions: one range scan of (owner_id, contact_id, occurred_at, interaction_id).
BY_CONTACT = (
    keyset.SortKey(p.occurred_at, "occurred_at", "time", descending=True),
    keyset.SortKey(p.interaction_id, "id", "uuid", descending=True),
)
ALL = (
    keyset.SortKey(i.occurred_at, "occurred_at", "time", descending=True),
    keyset.SortKey(i.id, "id", "uuid", descending=True),
)


def _has_living_contact(owner_id: UUID) -> sa.Exists:
    # An interaction shows while one of its contacts is alive; deleting every contact it names
    # hides it, and restoring one brings it back.
    return (
        sa.select(p.contact_id)
        .join(tables.contacts, sa.and_(c.owner_id == p.owner_id, c.id == p.contact_id))
        .where(p.owner_id == owner_id, p.interaction_id == i.id, c.cl % 2 == 1)
        .exists()
    )


async def list_interactions(
    conn: AsyncConnection,
    *,
    owner_id: UUID,
    contact_id: UUID | None,
    after: Sequence[object] | None,
    limit: int,
) -> list[sa.RowMapping]:
    """Return up to ``limit`` living interactions after the cursor, newest first."""
    if contact_id is None:
        conditions = [i.owner_id == owner_id, i.cl % 2 == 1, _has_living_contact(owner_id)]
        if after is not None:
            conditions.append(keyset.after_condition(ALL, after))
        query = (
            sa.select(*READ_COLUMNS)
            .where(*conditions)
            .order_by(*keyset.order_clauses(ALL))
            .limit(limit)
        )
    else:
        conditions = [p.owner_id == owner_id, p.contact_id == contact_id, p.alive]
        if after is not None:
            conditions.append(keyset.after_condition(BY_CONTACT, after))
        query = (
            sa.select(*READ_COLUMNS)
            .select_from(tables.interaction_participants)
            .join(tables.interactions, sa.and_(i.owner_id == p.owner_id, i.id == p.interaction_id))
            .where(*conditions)
            .order_by(*keyset.order_clauses(BY_CONTACT))
            .limit(limit)
        )
    return list((await conn.execute(query)).mappings().all())


async def count_interactions(
    conn: AsyncConnection, *, owner_id: UUID, contact_id: UUID | None
) -> int:
    """Count living interactions, of one contact or of all."""
    if contact_id is None:
        query = sa.select(sa.func.count()).where(
            i.owner_id == owner_id, i.cl % 2 == 1, _has_living_contact(owner_id)
        )
    else:
        query = sa.select(sa.func.count()).where(
            p.owner_id == owner_id, p.contact_id == contact_id, p.alive
        )
    return int(await conn.scalar(query) or 0)


async def latest_for_contacts(
    conn: AsyncConnection, *, owner_id: UUID, contact_ids: Sequence[UUID], limit: int
) -> dict[UUID, list[sa.RowMapping]]:
    """Return each contact's ``limit`` newest living interactions in one statement."""
    wanted = (
        sa.func.unnest(sa.cast(list(contact_ids), ARRAY(PG_UUID(as_uuid=True))))
        .table_valued("contact_id")
        .render_derived("wanted")
    )
    top = (
        sa.select(p.interaction_id)
        .where(p.owner_id == owner_id, p.contact_id == wanted.c.contact_id, p.alive)
        .order_by(p.occurred_at.desc(), p.interaction_id.desc())
        .limit(limit)
        .lateral("top")
    )
    query = (
        sa.select(wanted.c.contact_id.label("for_contact"), *READ_COLUMNS)
        .select_from(wanted)
        .join(top, sa.true())
        .join(tables.interactions, sa.and_(i.owner_id == owner_id, i.id == top.c.interaction_id))
        .order_by(wanted.c.contact_id, i.occurred_at.desc(), i.id.desc())
    )
    return await rows.fetch_grouped(conn, query, "for_contact")


async def participants_of(
    conn: AsyncConnection, *, owner_id: UUID, interaction_ids: Sequence[UUID]
) -> dict[UUID, list[UUID]]:
    """Return the living contacts of each interaction, by interaction id."""
    query = (
        sa.select(p.interaction_id, p.contact_id)
        .join(tables.contacts, sa.and_(c.owner_id == p.owner_id, c.id == p.contact_id))
        .where(p.owner_id == owner_id, p.interaction_id.in_(list(interaction_ids)), c.cl % 2 == 1)
        .order_by(p.interaction_id, c.sort_name, c.id)
    )
    return rows.column_of(await rows.fetch_grouped(conn, query, "interaction_id"), "contact_id")


async def get_interaction(
    conn: AsyncConnection, *, owner_id: UUID, interaction_id: UUID
) -> sa.RowMapping | None:
    """Return one living interaction."""
    query = sa.select(*READ_COLUMNS).where(
        i.owner_id == owner_id, i.id == interaction_id, i.cl % 2 == 1
    )
    return (await conn.execute(query)).mappings().first()
