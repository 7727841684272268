"""Reads that feed the insights: plain rows in, plain values out; the scoring is elsewhere.

The scoring functions (``insights/``) take dataclasses; these queries gather what they need in
a fixed number of statements, whatever the size of the address book.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from store import rows, tables

c = tables.contacts.c
i = tables.interactions.c
p = tables.interaction_participants.c
ct = tables.contact_tags.c
t = tables.tags.c
g = tables.goals.c

ALIVE = c.cl % 2 == 1
# Health reads at most this many of a contact's newest interactions: enough for every factor
# (a year of given/received at a weekly cadence), bounded for contacts with thousands.
HEALTH_DEPTH = 100
_UUIDS = ARRAY(PG_UUID(as_uuid=True))


async def health_interactions(
    conn: AsyncConnection, *, owner_id: UUID, contact_ids: Sequence[UUID]
) -> dict[UUID, list[sa.RowMapping]]:
    """Return each contact's newest living interactions: time, sentiment, given, received."""
    wanted = (
        sa.func.unnest(sa.cast(list(contact_ids), _UUIDS))
        .table_valued("contact_id")
        .render_derived("wanted")
    )
    top = (
        sa.select(p.interaction_id, p.occurred_at)
        .where(p.owner_id == owner_id, p.contact_id == wanted.c.contact_id, p.alive)
        .order_by(p.occurred_at.desc(), p.interaction_id.desc())
        .limit(HEALTH_DEPTH)
        .lateral("top")
    )
    query = (
        sa.select(
            wanted.c.contact_id,
            top.c.occurred_at,
            i.sentiment,
            (i.given.is_not(None) & (i.given != "")).label("gave"),
            (i.received.is_not(None) & (i.received != "")).label("got"),
        )
        .select_from(wanted)
        .join(top, sa.true())
        .join(tables.interactions, sa.and_(i.owner_id == owner_id, i.id == top.c.interaction_id))
    )
    return await rows.fetch_grouped(conn, query, "contact_id")


def _cadence(default_cadence: Mapping[str, int]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(c.cadence_days, sa.case(default_cadence, value=c.importance, else_=60))


async def reconnect_candidates(
    conn: AsyncConnection,
    *,
    owner_id: UUID,
    now: datetime,
    today: date,
    default_cadence: Mapping[str, int],
    importance_weight: Mapping[str, float],
    max_ratio: float,
    limit: int,
) -> list[sa.RowMapping]:
    """Return living, unsnoozed, overdue contacts, most urgent first (importance times overdue)."""
    cadence = sa.cast(_cadence(default_cadence), sa.Float)
    since = sa.func.coalesce(c.last_interaction_at, c.created_at)
    # date_part, in float8: EXTRACT returns numeric, whose arithmetic over every contact cost as
    # much as the scan itself.
    age = sa.func.date_part("epoch", sa.literal(now) - since, type_=sa.Float) / 86400.0
    overdue = age - cadence
    weight = sa.case(importance_weight, value=c.importance, else_=2.0)
    urgency = weight * sa.func.least(overdue / cadence, max_ratio)
    query = (
        sa.select(
            c.id,
            c.importance,
            c.cadence_days,
            c.created_at,
            cadence.label("cadence"),
            overdue.label("overdue_days"),
        )
        .where(
            c.owner_id == owner_id,
            ALIVE,
            c.stage != "ARCHIVED",
            sa.or_(c.snoozed_until.is_(None), c.snoozed_until <= today),
            overdue > 0,
        )
        .order_by(urgency.desc(), c.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings().all())


# The inverted index introductions walk, built by PostgreSQL: one row per feature with its
# contacts, highest rank first. Ten thousand contacts arrive as a few hundred arrays instead of
# ten thousand rows to decode. Role words come from the caller, so the rules stay in insights.
# UNION ALL, not UNION: a repeated feature ("Founder & CEO") only repeats a posting entry,
# which the walk ignores, and deduplicating 20,000 rows by text cost more than the rest.
_INDEX = sa.text(
    r"""
    WITH people AS (
        SELECT c.id, c.interests, c.title, c.company,
               CASE c.importance WHEN 'VIP' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'LOW' THEN 1 ELSE 2 END
               + CASE WHEN c.last_interaction_at >= :recent_since THEN 1 ELSE 0 END AS rank
        FROM contacts AS c
        WHERE c.owner_id = :owner_id AND c.cl % 2 = 1 AND c.stage <> 'ARCHIVED'
    ), features AS (
        SELECT 'interest:' || lower(btrim(i.value)) AS feature,
               i.value AS label, p.id, p.rank
        FROM people AS p CROSS JOIN LATERAL jsonb_array_elements_text(p.interests) AS i(value)
        WHERE p.interests <> '[]'::jsonb
        UNION ALL
        SELECT 'tag:' || t.name_key, t.name, p.id, p.rank
        FROM people AS p
        JOIN contact_tags AS ct
          ON ct.owner_id = :owner_id AND ct.contact_id = p.id AND ct.cl % 2 = 1
        JOIN tags AS t ON t.owner_id = :owner_id AND t.id = ct.tag_id AND t.cl % 2 = 1
        UNION ALL
        SELECT 'role:' || r.role, r.role, p.id, p.rank
        FROM people AS p
        CROSS JOIN LATERAL unnest(
            string_to_array(translate(lower(p.title), ',.;:/&()', '        '), ' ')
        ) AS w(word)
        JOIN unnest(CAST(:words AS text[]), CAST(:roles AS text[])) AS r(word, role)
          ON r.word = w.word
        -- One regular expression per title first: most titles name no role at all.
        WHERE p.title ~* :role_pattern
    )
    SELECT feature COLLATE "C" AS feature, min(label) AS label,
           array_agg(id ORDER BY rank DESC, id) AS ids
    FROM features GROUP BY 1
    """
)
_ANCHORS = sa.text(
    """
    SELECT c.id FROM contacts AS c
    WHERE c.owner_id = :owner_id AND c.cl % 2 = 1 AND c.stage <> 'ARCHIVED'
    ORDER BY CASE c.importance WHEN 'VIP' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'LOW' THEN 1 ELSE 2 END
             + CASE WHEN c.last_interaction_at >= :recent_since THEN 1 ELSE 0 END DESC, c.id
    LIMIT :anchors
    """
)


async def introduction_index(
    conn: AsyncConnection,
    *,
    owner_id: UUID,
    role_words: Mapping[str, str],
    recent_since: datetime,
    anchors: int,
) -> tuple[dict[str, tuple[str, list[UUID]]], list[UUID], int]:
    """Return the feature postings, the anchor contacts (highest rank first) and the count.

    Rank: importance (VIP 4, HIGH 3, NORMAL 2, LOW 1), plus 1 for an interaction since
    ``recent_since``. Features: interests, tags and roles (title words in ``role_words``), in
    lower case without surrounding spaces (tags by their name key). Colleagues are told apart
    later, for the best pairs only (``pairs_already_met``).
    """
    params = {
        "owner_id": owner_id,
        "recent_since": recent_since,
        "words": list(role_words),
        "roles": list(role_words.values()),
        "role_pattern": r"\m(" + "|".join(re.escape(w) for w in role_words) + r")\M",
    }
    # The planner guesses 100 elements per set-returning function call, so it expects a
    # million rows and compiles the query with JIT: over a second of compiling for 50 ms of
    # work. (SET LOCAL ends with this read's transaction.)
    await conn.execute(sa.text("SET LOCAL jit = off"))
    # A contact repeated in a posting ("Founder & CEO") must count once: keep the first.
    postings = {
        row.feature: (row.label, list(dict.fromkeys(row.ids)))
        for row in await conn.execute(_INDEX, params)
    }
    anchor_ids = list((await conn.scalars(_ANCHORS, {**params, "anchors": anchors})).all())
    total = await conn.scalar(
        sa.select(sa.func.count()).where(c.owner_id == owner_id, ALIVE, c.stage != "ARCHIVED")
    )
    return postings, anchor_ids, int(total or 0)


_MET = sa.text(
    """
    SELECT x.a, x.b
    FROM unnest(:a_ids, :b_ids) AS x(a, b)
    WHERE EXISTS (
            SELECT 1
            FROM interaction_participants AS p1
            JOIN interaction_participants AS p2
              ON p2.owner_id = p1.owner_id AND p2.interaction_id = p1.interaction_id
            WHERE p1.owner_id = :owner_id AND p1.contact_id = x.a AND p2.contact_id = x.b
              AND p1.alive)
       OR EXISTS (
            SELECT 1 FROM contacts AS c
            WHERE c.owner_id = :owner_id
              AND ((c.id = x.a AND c.introduced_by_id = x.b)
                   OR (c.id = x.b AND c.introduced_by_id = x.a)))
       OR EXISTS (
            SELECT 1 FROM contacts AS ca JOIN contacts AS cb
              ON cb.owner_id = ca.owner_id AND cb.id = x.b
             AND lower(btrim(cb.company)) = lower(btrim(ca.company))
            WHERE ca.owner_id = :owner_id AND ca.id = x.a AND btrim(ca.company) <> '')
    """
).bindparams(sa.bindparam("a_ids", type_=_UUIDS), sa.bindparam("b_ids", type_=_UUIDS))


async def pairs_already_met(
    conn: AsyncConnection, *, owner_id: UUID, pairs: Sequence[tuple[UUID, UUID]]
) -> set[frozenset[UUID]]:
    """Return the pairs who know each other already, or presumably do.

    They shared an interaction (an introduction included), one introduced the other, or they
    work at the same company.
    """
    if not pairs:
        return set()
    result = await conn.execute(
        _MET,
        {"owner_id": owner_id, "a_ids": [a for a, _ in pairs], "b_ids": [b for _, b in pairs]},
    )
    return {frozenset((row.a, row.b)) for row in result}


async def goal_tags(conn: AsyncConnection, *, owner_id: UUID) -> dict[str, str]:
    """Return the tag names that living, unarchived goals aim at, with the goals' titles."""
    query = (
        sa.select(t.name, g.title)
        .join(tables.tags, sa.and_(t.owner_id == g.owner_id, t.id == g.tag_id))
        .where(g.owner_id == owner_id, g.cl % 2 == 1, sa.not_(g.archived), t.cl % 2 == 1)
        .order_by(g.created_at)
    )
    found: dict[str, str] = {}
    for row in (await conn.execute(query)).mappings():
        found.setdefault(row["name"], row["title"])
    return found


async def owner_version(conn: AsyncConnection, *, owner_id: UUID) -> int:
    """Return the owner's current version: it moves with every write of theirs."""
    version = await conn.scalar(
        sa.select(tables.sync_owners.c.version).where(tables.sync_owners.c.owner_id == owner_id)
    )
    return int(version or 0)
