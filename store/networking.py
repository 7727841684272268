"""Reading goals, networking events and the numbers of a weekly review."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store import tables
from store.contacts import READ_COLUMNS as CONTACT_COLUMNS
from store.targets import met_targets_query

c = tables.contacts.c
i = tables.interactions.c
p = tables.interaction_participants.c
ct = tables.contact_tags.c
g = tables.goals.c
e = tables.events.c
a = tables.event_attendees.c

# Goal progress lists at most this many of the items that counted.
MAX_ITEMS = 100
_NAME = sa.func.trim(sa.func.concat(c.first_name, " ", c.last_name))


async def list_goals(
    conn: AsyncConnection, *, owner_id: UUID, include_archived: bool
) -> list[sa.RowMapping]:
    """Return the owner's living goals, oldest first."""
    conditions = [g.owner_id == owner_id, g.cl % 2 == 1]
    if not include_archived:
        conditions.append(sa.not_(g.archived))
    query = sa.select(tables.goals).where(*conditions).order_by(g.created_at, g.id)
    return list((await conn.execute(query)).mappings().all())


async def goal_items(
    conn: AsyncConnection,
    *,
    owner_id: UUID,
    metric: str,
    start: datetime,
    end: datetime,
    tag_id: UUID | None,
    goal_id: UUID | None = None,
) -> list[sa.RowMapping]:
    """Return (key, at, label) rows that count towards a goal metric in [start, end).

    For RECONNECT_DORMANT the rows are every interaction time, up to ``end``, of the contacts
    seen in the window; which of them ends a dormant gap is the insight's to decide.
    """
    alive_contact = c.cl % 2 == 1
    if metric == "MEET_NEW_PEOPLE":
        conditions = [c.owner_id == owner_id, alive_contact, c.created_at >= start]
        conditions.append(c.created_at < end)
        if tag_id is not None:
            tagged = sa.select(ct.contact_id).where(
                ct.owner_id == owner_id, ct.contact_id == c.id, ct.tag_id == tag_id, ct.cl % 2 == 1
            )
            conditions.append(tagged.exists())
        query = sa.select(c.id.label("key"), c.created_at.label("at"), _NAME.label("label")).where(
            *conditions
        )
    elif metric in ("LOG_INTERACTIONS", "MAKE_INTRODUCTIONS"):
        conditions = [i.owner_id == owner_id, i.cl % 2 == 1, i.occurred_at >= start]
        conditions.append(i.occurred_at < end)
        if metric == "MAKE_INTRODUCTIONS":
            conditions.append(i.kind == "INTRODUCTION")
            # One a colleague made for the user (received, nothing given) was not made by them.
            conditions.append(sa.or_(i.received.is_(None), i.given.is_not(None)))
        query = sa.select(
            i.id.label("key"), i.occurred_at.label("at"), i.summary.label("label")
        ).where(*conditions)
    elif metric == "ATTEND_EVENTS":
        query = sa.select(e.id.label("key"), e.starts_at.label("at"), e.name.label("label")).where(
            e.owner_id == owner_id, e.cl % 2 == 1, e.starts_at >= start, e.starts_at < end
        )
    elif metric == "MEET_TARGETS":
        query = met_targets_query(
            owner_id=owner_id, goal_id=goal_id, start=start, end=end, tag_id=tag_id
        )
    elif metric == "RECONNECT_DORMANT":
        seen = (
            sa.select(p.contact_id)
            .where(p.owner_id == owner_id, p.alive, p.occurred_at >= start, p.occurred_at < end)
            .distinct()
            .subquery()
        )
        query = (
            sa.select(p.contact_id.label("key"), p.occurred_at.label("at"), _NAME.label("label"))
            .join(seen, seen.c.contact_id == p.contact_id)
            .join(tables.contacts, sa.and_(c.owner_id == p.owner_id, c.id == p.contact_id))
            .where(p.owner_id == owner_id, p.alive, p.occurred_at < end, alive_contact)
        )
    else:
        raise ValueError(f"unknown metric {metric}")
    return list((await conn.execute(query)).mappings().all())


async def list_events(conn: AsyncConnection, *, owner_id: UUID, limit: int) -> list[sa.RowMapping]:
    """Return the owner's living events, latest first."""
    query = (
        sa.select(tables.events)
        .where(e.owner_id == owner_id, e.cl % 2 == 1)
        .order_by(e.starts_at.desc(), e.id.desc())
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings().all())


async def get_event(
    conn: AsyncConnection, *, owner_id: UUID, event_id: UUID
) -> sa.RowMapping | None:
    query = sa.select(tables.events).where(e.owner_id == owner_id, e.id == event_id, e.cl % 2 == 1)
    return (await conn.execute(query)).mappings().first()


async def attendees_of(
    conn: AsyncConnection, *, owner_id: UUID, event_ids: Sequence[UUID]
) -> dict[UUID, list[sa.RowMapping]]:
    """Return each event's living attendees with their contact's columns, by name."""
    query = (
        sa.select(a.event_id, a.status, a.note.label("attendee_note"), *CONTACT_COLUMNS)
        .join(tables.contacts, sa.and_(c.owner_id == a.owner_id, c.id == a.contact_id))
        .where(
            a.owner_id == owner_id,
            a.event_id.in_(list(event_ids)),
            a.cl % 2 == 1,
            c.cl % 2 == 1,
        )
        .order_by(a.event_id, c.sort_name, c.id)
    )
    found: dict[UUID, list[sa.RowMapping]] = {}
    for row in (await conn.execute(query)).mappings():
        found.setdefault(row["event_id"], []).append(row)
    return found


async def follow_ups_due(
    conn: AsyncConnection, *, owner_id: UUID, event_id: UUID, since: datetime
) -> list[sa.RowMapping]:
    """Return contacts met at an event with no interaction logged since it began."""
    followed = sa.select(p.contact_id).where(
        p.owner_id == owner_id, p.contact_id == c.id, p.alive, p.occurred_at >= since
    )
    query = (
        sa.select(*CONTACT_COLUMNS)
        .join(tables.event_attendees, sa.and_(a.owner_id == c.owner_id, a.contact_id == c.id))
        .where(
            a.owner_id == owner_id,
            a.event_id == event_id,
            a.cl % 2 == 1,
            a.status == "MET",
            c.cl % 2 == 1,
            ~followed.exists(),
        )
        .order_by(c.sort_name, c.id)
    )
    return list((await conn.execute(query)).mappings().all())


_WEEKLY = sa.text(
    """
    SELECT date_trunc('week', i.occurred_at AT TIME ZONE :tz)::date AS week,
           count(*) AS interactions,
           count(*) FILTER (WHERE coalesce(i.given, '') <> '') AS given,
           count(*) FILTER (WHERE coalesce(i.received, '') <> '') AS received,
           avg(i.sentiment) AS sentiment,
           count(i.sentiment) AS scored
    FROM interactions AS i
    WHERE i.owner_id = :owner_id AND i.cl % 2 = 1
      AND i.occurred_at >= :start AND i.occurred_at < :end
    GROUP BY 1 ORDER BY 1
    """
)


async def weekly_activity(
    conn: AsyncConnection, *, owner_id: UUID, start: datetime, end: datetime, time_zone: str
) -> list[sa.Row[Any]]:
    """Return per local week (Monday): interactions, given, received, mean sentiment."""
    params = {"owner_id": owner_id, "start": start, "end": end, "tz": time_zone}
    return list((await conn.execute(_WEEKLY, params)).all())


async def count_new_contacts(
    conn: AsyncConnection, *, owner_id: UUID, start: datetime, end: datetime
) -> int:
    query = sa.select(sa.func.count()).where(
        c.owner_id == owner_id, c.cl % 2 == 1, c.created_at >= start, c.created_at < end
    )
    return int(await conn.scalar(query) or 0)


_HEALTH_CONTACTS = sa.text(
    """
    SELECT c.id, c.importance, c.cadence_days, c.created_at,
           CASE WHEN c.last_interaction_at IS NULL OR c.last_interaction_at <= :at
                THEN c.last_interaction_at
                ELSE (SELECT max(p.occurred_at) FROM interaction_participants AS p
                      WHERE p.owner_id = c.owner_id AND p.contact_id = c.id AND p.alive
                        AND p.occurred_at <= :at)
           END AS last_at
    FROM contacts AS c
    WHERE c.owner_id = :owner_id AND c.cl % 2 = 1 AND c.created_at <= :at
    """
)
_HEALTH_FACTS = sa.text(
    """
    SELECT p.contact_id, p.occurred_at, i.sentiment,
           coalesce(i.given, '') <> '' AS gave, coalesce(i.received, '') <> '' AS got
    FROM interaction_participants AS p
    JOIN interactions AS i ON i.owner_id = p.owner_id AND i.id = p.interaction_id
    WHERE p.owner_id = :owner_id AND p.alive AND p.occurred_at > :since AND p.occurred_at <= :at
    """
)


async def health_inputs_at(
    conn: AsyncConnection, *, owner_id: UUID, at: datetime, since: datetime
) -> tuple[list[sa.Row[Any]], list[sa.Row[Any]]]:
    """Return every living contact's health inputs as of ``at``, and its interactions since
    ``since``: (id, importance, cadence_days, created_at, last_at) and (contact_id,
    occurred_at, sentiment, gave, got) rows, flat, for the caller to group."""
    params = {"owner_id": owner_id, "at": at, "since": since}
    contacts = list((await conn.execute(_HEALTH_CONTACTS, params)).all())
    facts = list((await conn.execute(_HEALTH_FACTS, params)).all())
    return contacts, facts
