"""The calendar feed's rows: each user's feed secret (as a digest) and what the feed shows."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store import tables

f = tables.calendar_feeds.c

# The columns notifications.ics.build_calendar reads.
CONTACT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "company",
    "birthday_month",
    "birthday_day",
    "birthday_year",
    "work_started_on",
    "next_follow_up_at",
)
REMINDER_COLUMNS = (
    "id",
    "title",
    "notes",
    "due_on",
    "due_time",
    "repeat_unit",
    "repeat_every",
    "completed_at",
    "completed_through",
    "snoozed_until",
)


async def get_feed(conn: AsyncConnection, *, user_id: UUID) -> sa.RowMapping | None:
    query = sa.select(tables.calendar_feeds).where(f.user_id == user_id)
    return (await conn.execute(query)).mappings().first()


async def put_feed(
    conn: AsyncConnection,
    *,
    user_id: UUID,
    feed_key: bytes,
    secret_hash: bytes,
    now: datetime,
    replace: bool,
) -> sa.RowMapping:
    """Keep the user's feed; with ``replace`` a new one takes the old one's place at once."""
    insert = pg_insert(tables.calendar_feeds).values(
        user_id=user_id, feed_key=feed_key, secret_hash=secret_hash, created_at=now
    )
    if replace:
        statement = insert.on_conflict_do_update(
            index_elements=[f.user_id],
            set_={"feed_key": feed_key, "secret_hash": secret_hash, "created_at": now},
        )
    else:
        # Two first requests at once: both end up with the one that got in.
        statement = insert.on_conflict_do_update(
            index_elements=[f.user_id], set_={"user_id": insert.excluded.user_id}
        )
    row: sa.RowMapping = (
        (await conn.execute(statement.returning(tables.calendar_feeds))).mappings().one()
    )
    return row


async def set_secret_hash(conn: AsyncConnection, *, user_id: UUID, secret_hash: bytes) -> None:
    await conn.execute(
        sa.update(tables.calendar_feeds).where(f.user_id == user_id).values(secret_hash=secret_hash)
    )


async def find_feed_owner(conn: AsyncConnection, *, secret_hash: bytes) -> UUID | None:
    owner: UUID | None = await conn.scalar(sa.select(f.user_id).where(f.secret_hash == secret_hash))
    return owner


async def load_calendar_rows(
    conn: AsyncConnection, *, owner_id: UUID
) -> tuple[str, list[sa.RowMapping], list[sa.RowMapping]]:
    """The owner's time zone, and the living contacts and reminders ``build_calendar`` reads."""
    time_zone: str = (
        await conn.scalar(sa.select(tables.users.c.time_zone).where(tables.users.c.id == owner_id))
    ) or "UTC"
    c = tables.contacts.c
    contacts = await conn.execute(
        sa.select(*(c[name] for name in CONTACT_COLUMNS))
        .where(
            c.owner_id == owner_id,
            c.cl % 2 == 1,
            sa.or_(
                c.birthday_day.is_not(None),
                c.work_started_on.is_not(None),
                c.next_follow_up_at.is_not(None),
            ),
        )
        .order_by(c.id)
    )
    r = tables.reminders.c
    reminders = await conn.execute(
        sa.select(*(r[name] for name in REMINDER_COLUMNS))
        .where(r.owner_id == owner_id, r.cl % 2 == 1)
        .order_by(r.id)
    )
    return time_zone, list(contacts.mappings()), list(reminders.mappings())
