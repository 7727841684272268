"""Values the server computes from other rows; never merged as last-writer-wins fields."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncConnection

# Contact fields the derived values read: a write that wins one re-derives the contact.
DERIVED_FROM = frozenset({"cadenceDays", "snoozedUntil", "isTarget"})

# Driven from the list of ids, each a primary-key and an index lookup: a plan that starts from
# the owner's contacts can be chosen when statistics do not know a new owner yet, and it took
# minutes for a 10,000-contact import (bench/RESULTS.md).
# A contact's next follow-up is its last interaction (or, with none yet, its creation) plus its
# keep-in-touch cadence, pushed later by a snooze (from local midnight of the snooze date).
# Both are local days in the owner's zone: the cadence is added to the local wall time (a call
# at 23:30 in Berlin plus 30 days is 23:30 thirty days on, whatever UTC or a DST change says),
# so the follow-up falls on the day the owner counts; a zone change re-derives them
# (sync.contact.refresh_follow_ups). GREATEST ignores NULLs: no cadence means the snooze alone
# decides; neither means none.
# A target is met at its first living interaction that is not a NOTE (a note to self is not
# meeting anyone) or the start of the first event it is marked MET at, whichever is earlier
# (LEAST ignores NULLs). Derived rather than written by a rule, so it converges whatever order
# devices' pushes arrive in (docs/sync.md); the subqueries sit in the CASE, so contacts that
# are not targets never run them.
_REFRESH = sa.text(
    """
    WITH fresh AS (
        SELECT c.id,
               last.at AS last_at,
               GREATEST(
                   (timezone(:time_zone, COALESCE(last.at, c.created_at))
                    + make_interval(days => c.cadence_days)) AT TIME ZONE :time_zone,
                   c.snoozed_until::timestamp AT TIME ZONE :time_zone
               ) AS next_at,
               CASE WHEN c.is_target THEN LEAST(
                   (SELECT min(p.occurred_at)
                    FROM interaction_participants AS p
                    JOIN interactions AS i ON i.owner_id = p.owner_id AND i.id = p.interaction_id
                    WHERE p.owner_id = :owner_id AND p.contact_id = wanted.id AND p.alive
                      AND i.kind <> 'NOTE'),
                   (SELECT min(e.starts_at)
                    FROM event_attendees AS a
                    JOIN events AS e ON e.owner_id = a.owner_id AND e.id = a.event_id
                    WHERE a.owner_id = :owner_id AND a.contact_id = wanted.id
                      AND a.cl % 2 = 1 AND a.status = 'MET')
               ) END AS met_at
        FROM unnest(:contact_ids) AS wanted(id)
        JOIN contacts AS c ON c.owner_id = :owner_id AND c.id = wanted.id
        LEFT JOIN LATERAL (
            SELECT p.occurred_at AS at
            FROM interaction_participants AS p
            WHERE p.owner_id = :owner_id AND p.contact_id = wanted.id AND p.alive
            ORDER BY p.occurred_at DESC
            LIMIT 1
        ) AS last ON true
    )
    UPDATE contacts AS c
    SET last_interaction_at = fresh.last_at,
        next_follow_up_at = fresh.next_at,
        target_met_at = fresh.met_at,
        server_version = :version,
        updated_at = :now
    FROM fresh
    WHERE c.owner_id = :owner_id AND c.id = fresh.id
      AND (c.last_interaction_at IS DISTINCT FROM fresh.last_at
           OR c.next_follow_up_at IS DISTINCT FROM fresh.next_at
           OR c.target_met_at IS DISTINCT FROM fresh.met_at)
    RETURNING c.*
    """
).bindparams(sa.bindparam("contact_ids", type_=ARRAY(PG_UUID(as_uuid=True))))


async def refresh_contacts(
    conn: AsyncConnection,
    *,
    owner_id: UUID,
    contact_ids: list[UUID],
    version: int,
    now: datetime,
    time_zone: str,
) -> dict[UUID, sa.RowMapping]:
    """Recompute last interaction, next follow-up and when a target was met; return the
    contacts that changed."""
    result = await conn.execute(
        _REFRESH,
        {
            "owner_id": owner_id,
            "contact_ids": contact_ids,
            "version": version,
            "now": now,
            "time_zone": time_zone,
        },
    )
    return {row["id"]: row for row in result.mappings()}
