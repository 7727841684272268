"""`rapport seed`: generated people with histories, stamped like any write."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from api.seed import seed_database
from store import tables


async def test_seed_creates_users_contacts_and_interactions(
    engine: AsyncEngine, db_url: str
) -> None:
    emails = await seed_database(
        db_url,
        users=2,
        contacts=30,
        interactions=4,
        email="seed@example.com",
        password="long enough pw",
        random_seed=1,
    )
    assert emails == ["seed@example.com", "seed+1@example.com"]
    c, i = tables.contacts.c, tables.interactions.c
    async with engine.connect() as conn:
        per_owner = dict(
            (await conn.execute(sa.select(c.owner_id, sa.func.count()).group_by(c.owner_id))).all()
        )
        assert sorted(per_owner.values()) == [30, 30]
        assert (
            await conn.scalar(sa.select(sa.func.count()).select_from(tables.interactions))
            >= 2 * 30 * 1
        )
        # Derived values are computed as on any write.
        missing_last = await conn.scalar(
            sa.select(sa.func.count()).where(
                c.last_interaction_at.is_(None),
                sa.exists().where(
                    tables.interaction_participants.c.contact_id == c.id,
                ),
            )
        )
        assert missing_last == 0
        unstamped = await conn.scalar(
            sa.select(sa.func.count()).where(i.field_hlc == sa.text("'{}'::jsonb"))
        )
        assert unstamped == 0
        names = (await conn.execute(sa.select(c.first_name, c.sort_name).limit(5))).all()
    assert all(first and sort.startswith(first.casefold()) for first, sort in names)
