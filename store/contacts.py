"""Reading contacts: one owner's, alive ones only, as Core rows."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store import keyset, tables

c = tables.contacts.c
ct = tables.contact_tags.c
t = tables.tags.c

ALIVE = c.cl % 2 == 1
# What reads return: not the clocks or the search text, which the API never shows and whose
# decoding cost more than the query.
READ_COLUMNS = [col for col in tables.contacts.c if col.name not in ("field_hlc", "search_text")]


class ContactOrder(Enum):
    NAME = "NAME"
    NEXT_FOLLOW_UP = "NEXT_FOLLOW_UP"
    LAST_INTERACTION = "LAST_INTERACTION"
    CREATED = "CREATED"


_ID = keyset.SortKey(c.id, "id", "uuid")
_ID_DESC = keyset.SortKey(c.id, "id", "uuid", descending=True)

ORDERINGS: dict[ContactOrder, tuple[keyset.SortKey, ...]] = {
    ContactOrder.NAME: (keyset.SortKey(c.sort_name, "sort_name", "text"), _ID),
    ContactOrder.NEXT_FOLLOW_UP: (
        keyset.SortKey(c.next_follow_up_at, "next_follow_up_at", "time", nullable=True),
        _ID,
    ),
    ContactOrder.LAST_INTERACTION: (
        keyset.SortKey(
            c.last_interaction_at, "last_interaction_at", "time", descending=True, nullable=True
        ),
        _ID_DESC,
    ),
    ContactOrder.CREATED: (
        keyset.SortKey(c.created_at, "created_at", "time", descending=True),
        _ID_DESC,
    ),
}


@dataclass(frozen=True)
class ContactFilter:
    search: str | None = None
    tag_ids: Sequence[UUID] | None = None
    company: str | None = None
    stages: Sequence[str] | None = None
    follow_up_before: datetime | None = None
    # (today in the owner's time zone, days ahead) for "birthday within N days".
    birthday_window: tuple[date, int] | None = None


def birthday_keys(today: date, days: int) -> list[int]:
    """Return month*100+day for each day from today through today+days.

    In common years Feb 29 birthdays are celebrated on Feb 28, so Feb 28 brings Feb 29 along.
    """
    keys: list[int] = []
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        keys.append(day.month * 100 + day.day)
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            keys.append(229)
    return keys


def _conditions(owner_id: UUID, where: ContactFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [c.owner_id == owner_id, ALIVE]
    if where.search:
        conditions.append(c.search_text.contains(where.search.casefold(), autoescape=True))
    if where.company:
        conditions.append(sa.func.lower(c.company) == where.company.casefold())
    if where.stages:
        conditions.append(c.stage.in_(list(where.stages)))
    if where.follow_up_before is not None:
        conditions.append(c.next_follow_up_at < where.follow_up_before)
    if where.birthday_window is not None:
        keys = birthday_keys(*where.birthday_window)
        conditions.append((c.birthday_month * 100 + c.birthday_day).in_(keys))
    if where.tag_ids:
        tagged = (
            sa.select(ct.contact_id)
            .join(tables.tags, sa.and_(t.owner_id == ct.owner_id, t.id == ct.tag_id))
            .where(
                ct.owner_id == owner_id,
                ct.contact_id == c.id,
                ct.tag_id.in_(list(where.tag_ids)),
                ct.cl % 2 == 1,
                t.cl % 2 == 1,
            )
        )
        conditions.append(tagged.exists())
    return conditions


async def list_contacts(
    conn: AsyncConnection,
    *,
    owner_id: UUID,
    where: ContactFilter,
    order: ContactOrder,
    after: Sequence[object] | None,
    limit: int,
    before: Sequence[object] | None = None,
    backward: bool = False,
) -> list[sa.RowMapping]:
    """Return up to ``limit`` contacts between the cursor values, in the given order.

    ``backward`` takes the ``limit`` rows nearest the end of the range (just before ``before``)
    instead of the start: it reads in the reversed order and returns the rows in the normal one.
    """
    keys = ORDERINGS[order]
    reversed_keys = keyset.reverse_keys(keys)
    read_keys = reversed_keys if backward else keys
    conditions = _conditions(owner_id, where)
    # Each branch is one range of the ordering's index (keyset.after_branches); "before x"
    # in this order is "after x" in the reversed one.
    after_ranges = [None] if after is None else keyset.after_branches(keys, after)
    before_ranges = [None] if before is None else keyset.after_branches(reversed_keys, before)
    branches = [
        sa.select(*READ_COLUMNS)
        .where(*conditions, *(r for r in (a, b) if r is not None))
        .order_by(*keyset.order_clauses(read_keys))
        .limit(limit)
        for a in after_ranges
        for b in before_ranges
    ]
    if len(branches) == 1:
        query = branches[0]
    else:
        # Disjoint ranges, each read in order up to the limit; the page is the first rows of
        # their merge (PostgreSQL merges the index scans: a Merge Append).
        merged = sa.union_all(*branches).subquery()
        query = sa.select(merged).order_by(*keyset.order_clauses(read_keys, merged)).limit(limit)
    rows = list((await conn.execute(query)).mappings().all())
    return rows[::-1] if backward else rows


async def count_contacts(conn: AsyncConnection, *, owner_id: UUID, where: ContactFilter) -> int:
    """Count the contacts a filter matches."""
    query = (
        sa.select(sa.func.count()).select_from(tables.contacts).where(*_conditions(owner_id, where))
    )
    return int(await conn.scalar(query) or 0)


async def get_contacts(
    conn: AsyncConnection, *, owner_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, sa.RowMapping]:
    """Return the living contacts among ``ids``, by id."""
    query = sa.select(*READ_COLUMNS).where(c.owner_id == owner_id, c.id.in_(list(ids)), ALIVE)
    return {row["id"]: row for row in (await conn.execute(query)).mappings()}
