"""Reading targets, people the user wants to meet: the list, the facts for introduction
paths, and the targets a goal counts as met."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store import tables
from store.contacts import READ_COLUMNS

c = tables.contacts.c
ct = tables.contact_tags.c
t = tables.tags.c
a = tables.event_attendees.c
e = tables.events.c

ALIVE = c.cl % 2 == 1
# Still to meet: marked, not met yet (the partial index ix_contacts_targets).
TO_MEET = sa.and_(c.is_target, c.target_met_at.is_(None), ALIVE)
# A path lists at most this many people; the ranking is the insight's.
MAX_CANDIDATES = 2000


async def list_targets(
    conn: AsyncConnection, *, owner_id: UUID, goal_id: UUID | None, limit: int
) -> list[sa.RowMapping]:
    """Return the owner's targets still to meet, by name (``goal_id``: linked to that goal)."""
    conditions = [c.owner_id == owner_id, TO_MEET]
    if goal_id is not None:
        conditions.append(c.target_goal_id == goal_id)
    query = sa.select(*READ_COLUMNS).where(*conditions).order_by(c.sort_name, c.id).limit(limit)
    return list((await conn.execute(query)).mappings().all())


async def get_contact(
    conn: AsyncConnection, *, owner_id: UUID, contact_id: UUID
) -> sa.RowMapping | None:
    """Return one of the owner's living contacts."""
    query = sa.select(*READ_COLUMNS).where(c.owner_id == owner_id, c.id == contact_id, ALIVE)
    return (await conn.execute(query)).mappings().first()


@dataclass(frozen=True)
class PathFacts:
    """What a target shares with the owner's other contacts, for ranking introducers."""

    # Living contacts sharing a company, interest, tag or event with the target.
    candidates: list[sa.RowMapping]
    # The target's living tags (id -> name) and events (id -> (name, starts_at)).
    tags: dict[UUID, str]
    events: dict[UUID, tuple[str, datetime]]
    # Which candidates carry which of those tags, and were on which of those events' lists.
    tagged: list[tuple[UUID, UUID]]
    attended: list[tuple[UUID, UUID]]


def _key(value: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    return sa.func.lower(sa.func.btrim(value))


async def path_facts(conn: AsyncConnection, *, owner_id: UUID, target: sa.RowMapping) -> PathFacts:
    """Return the contacts who share something with ``target`` and what they share."""
    tag_rows = await conn.execute(
        sa.select(t.id, t.name)
        .join(tables.contact_tags, sa.and_(ct.owner_id == t.owner_id, ct.tag_id == t.id))
        .where(
            t.owner_id == owner_id,
            ct.contact_id == target["id"],
            ct.cl % 2 == 1,
            t.cl % 2 == 1,
        )
    )
    tags = {row.id: row.name for row in tag_rows}
    event_rows = await conn.execute(
        sa.select(e.id, e.name, e.starts_at)
        .join(tables.event_attendees, sa.and_(a.owner_id == e.owner_id, a.event_id == e.id))
        .where(
            e.owner_id == owner_id,
            a.contact_id == target["id"],
            a.cl % 2 == 1,
            e.cl % 2 == 1,
        )
    )
    events = {row.id: (row.name, row.starts_at) for row in event_rows}
    interests = sorted({i.strip().casefold() for i in target["interests"] if i.strip()})
    company = (target["company"] or "").strip().casefold()
    shares: list[sa.ColumnElement[bool]] = []
    if company:
        shares.append(_key(c.company) == company)
    if interests:
        label = sa.func.jsonb_array_elements_text(c.interests).table_valued("value").alias("x")
        shares.append(
            sa.exists(sa.select(1).select_from(label).where(_key(label.c.value).in_(interests)))
        )
    if tags:
        shares.append(
            sa.exists(
                sa.select(1).where(
                    ct.owner_id == owner_id,
                    ct.contact_id == c.id,
                    ct.tag_id.in_(list(tags)),
                    ct.cl % 2 == 1,
                )
            )
        )
    if events:
        shares.append(
            sa.exists(
                sa.select(1).where(
                    a.owner_id == owner_id,
                    a.contact_id == c.id,
                    a.event_id.in_(list(events)),
                    a.cl % 2 == 1,
                )
            )
        )
    if not shares:
        return PathFacts([], tags, events, [], [])
    query = (
        sa.select(*READ_COLUMNS)
        .where(
            c.owner_id == owner_id,
            ALIVE,
            c.id != target["id"],
            # Someone still to meet cannot introduce anyone.
            sa.not_(sa.and_(c.is_target, c.target_met_at.is_(None))),
            sa.or_(*shares),
        )
        .order_by(c.id)
        .limit(MAX_CANDIDATES)
    )
    candidates = list((await conn.execute(query)).mappings().all())
    ids = [row["id"] for row in candidates]
    tagged: list[tuple[UUID, UUID]] = []
    attended: list[tuple[UUID, UUID]] = []
    if ids and tags:
        rows = await conn.execute(
            sa.select(ct.contact_id, ct.tag_id).where(
                ct.owner_id == owner_id,
                ct.contact_id.in_(ids),
                ct.tag_id.in_(list(tags)),
                ct.cl % 2 == 1,
            )
        )
        tagged = [(row.contact_id, row.tag_id) for row in rows]
    if ids and events:
        rows = await conn.execute(
            sa.select(a.contact_id, a.event_id).where(
                a.owner_id == owner_id,
                a.contact_id.in_(ids),
                a.event_id.in_(list(events)),
                a.cl % 2 == 1,
            )
        )
        attended = [(row.contact_id, row.event_id) for row in rows]
    return PathFacts(candidates, tags, events, tagged, attended)


_NAME = sa.func.trim(sa.func.concat(c.first_name, " ", c.last_name))


def met_targets_query(
    *,
    owner_id: UUID,
    goal_id: UUID | None,
    start: datetime,
    end: datetime,
    tag_id: UUID | None,
) -> sa.Select[Any]:
    """(key, at, label) of the targets first met in [start, end), for a MEET_TARGETS goal.

    A goal that living targets are linked to counts only those; a goal with none counts every
    target. The goal's tag, if any, narrows either further.
    """
    conditions = [
        c.owner_id == owner_id,
        ALIVE,
        c.is_target,
        c.target_met_at >= start,
        c.target_met_at < end,
    ]
    if goal_id is not None:
        linked = tables.contacts.alias("linked")
        any_linked = sa.exists(
            sa.select(1).where(
                linked.c.owner_id == owner_id,
                linked.c.target_goal_id == goal_id,
                linked.c.is_target,
                linked.c.cl % 2 == 1,
            )
        )
        conditions.append(sa.or_(c.target_goal_id == goal_id, ~any_linked))
    if tag_id is not None:
        conditions.append(
            sa.exists(
                sa.select(1).where(
                    ct.owner_id == owner_id,
                    ct.contact_id == c.id,
                    ct.tag_id == tag_id,
                    ct.cl % 2 == 1,
                )
            )
        )
    label = sa.case(
        (c.target_reason.is_(None), _NAME), else_=sa.func.concat(_NAME, " — ", c.target_reason)
    )
    return sa.select(c.id.label("key"), c.target_met_at.label("at"), label.label("label")).where(
        *conditions
    )
