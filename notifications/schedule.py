"""Storing a plan: an owner batch's planned pushes become scheduled_notifications rows.

Rows are upserted by their unique key, and the owners' pending rows the plan no longer has
are retired: deleted when their day is still ahead, MISSED when it has passed unsent. Rows a
worker has claimed, tried or sent are never touched.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications.plan import Planned

# A batch's whole plan is one statement: its rows arrive as arrays (a fraction of the cost of
# a row-by-row insert), are upserted by their unique key, and the owners' pending rows the
# plan no longer has are retired. A pending row the plan leaves as it was is not rewritten, so
# an hourly re-plan writes little, and a row waiting out a back-off keeps its due time.
_STORE_PLAN = sa.text(
    """
    WITH p AS (
        SELECT * FROM unnest(CAST(:owners AS uuid[]), CAST(:kinds AS text[]),
            CAST(:subjects AS uuid[]), CAST(:occurrences AS date[]), CAST(:leads AS smallint[]),
            CAST(:local_dates AS date[]), CAST(:send_ats AS timestamptz[]),
            CAST(:titles AS text[]), CAST(:bodies AS text[]), CAST(:data AS text[]),
            CAST(:names AS text[]), CAST(:years AS smallint[]))
            AS p(o, k, s, oc, l, ld, sa, t, b, d, nm, y)
    ),
    upserted AS (
        INSERT INTO scheduled_notifications AS n (owner_id, id, kind, subject_id, occurrence,
            lead_days, local_date, send_at, due_at, title, body, data, subject_name, years,
            created_at, updated_at)
        SELECT o, gen_random_uuid(), k, s, oc, l, ld, sa, sa, t, b, d::jsonb, nm, y, :now, :now
        FROM p
        -- Rows already as planned, or the worker's, are left out before the insert: an
        -- ON CONFLICT that does nothing would still lock (and so write) every one of them.
        WHERE NOT EXISTS (
            SELECT FROM scheduled_notifications AS n
            WHERE (n.owner_id, n.kind, n.subject_id, n.occurrence, n.lead_days)
                = (p.o, p.k, p.s, p.oc, p.l)
              AND (n.status <> 'PENDING' OR n.attempts > 0
                   OR (n.local_date, n.send_at, n.title, n.body, n.data, n.subject_name,
                       n.years)
                      IS NOT DISTINCT FROM (p.ld, p.sa, p.t, p.b, p.d::jsonb, p.nm, p.y)))
        ON CONFLICT (owner_id, kind, subject_id, occurrence, lead_days) DO UPDATE
        SET local_date = excluded.local_date, send_at = excluded.send_at,
            due_at = excluded.due_at, title = excluded.title, body = excluded.body,
            data = excluded.data, subject_name = excluded.subject_name, years = excluded.years,
            updated_at = excluded.updated_at
        -- Only rows no worker has tried follow the plan. Claimed, sent or finished rows are
        -- history; a pending one with attempts waits out a back-off (its due time is the
        -- worker's) and may have reached some devices already.
        WHERE n.status = 'PENDING' AND n.attempts = 0
          AND (n.local_date, n.send_at, n.title, n.body, n.data, n.subject_name, n.years)
              IS DISTINCT FROM (excluded.local_date, excluded.send_at, excluded.title,
                  excluded.body, excluded.data, excluded.subject_name, excluded.years)
        RETURNING 1
    ),
    stale AS (
        -- (Rows a worker has tried are left be by the two statements below, not here: one
        -- more condition here made PostgreSQL's estimate tiny and its plan quadratic.)
        SELECT n.owner_id, n.id,
               n.local_date < CAST(timezone(u.time_zone, :now) AS date) AS day_passed
        FROM scheduled_notifications AS n JOIN users AS u ON u.id = n.owner_id
        WHERE n.owner_id = ANY(CAST(:planned_owners AS uuid[])) AND n.status = 'PENDING'
          AND NOT EXISTS (
              SELECT FROM p
              WHERE (p.o, p.k, p.s, p.oc, p.l)
                  = (n.owner_id, n.kind, n.subject_id, n.occurrence, n.lead_days))
    ),
    missed AS (
        -- Their day has passed unsent (no worker ran): say so rather than drop them silently.
        UPDATE scheduled_notifications AS n
        SET status = 'MISSED', updated_at = :now,
            last_error = 'its day passed while no worker ran'
        FROM stale
        WHERE (n.owner_id, n.id) = (stale.owner_id, stale.id) AND stale.day_passed
          AND n.status = 'PENDING' AND n.attempts = 0
        RETURNING 1
    ),
    dropped AS (
        -- Still ahead but no longer wanted: the birthday was edited, the reminder completed.
        -- (A worker may have claimed one meanwhile: the status test leaves that one be.)
        DELETE FROM scheduled_notifications AS n USING stale
        WHERE (n.owner_id, n.id) = (stale.owner_id, stale.id) AND NOT stale.day_passed
          AND n.status = 'PENDING' AND n.attempts = 0
        RETURNING 1
    ),
    retired AS (
        -- Tried (waiting out a back-off) but no longer wanted: history, not to be sent again.
        -- SENT if a device got it; else CANCELLED. One whose day passed is the worker's: it
        -- settles it MISSED or SENT when it comes due.
        UPDATE scheduled_notifications AS n
        SET status = CASE WHEN n.sent_at IS NOT NULL THEN 'SENT' ELSE 'CANCELLED' END,
            updated_at = :now,
            last_error = 'no longer planned (completed, deleted or changed) before every '
                         'device got it'
        FROM stale
        WHERE (n.owner_id, n.id) = (stale.owner_id, stale.id) AND NOT stale.day_passed
          AND n.status = 'PENDING' AND n.attempts > 0
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM upserted) AS written, (SELECT count(*) FROM missed) AS missed,
           (SELECT count(*) FROM dropped) AS dropped, (SELECT count(*) FROM retired) AS retired
    """
).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True)))


async def store_plan(
    conn: AsyncConnection,
    owner_ids: list[UUID],
    rows: list[tuple[UUID, Planned]],
    now: datetime,
) -> None:
    await conn.execute(
        _STORE_PLAN,
        {
            "now": now,
            "planned_owners": owner_ids,
            "owners": [owner for owner, _ in rows],
            "kinds": [p.kind.value for _, p in rows],
            "subjects": [p.subject_id for _, p in rows],
            "occurrences": [p.occurrence for _, p in rows],
            "leads": [p.lead_days for _, p in rows],
            "local_dates": [p.local_date for _, p in rows],
            "send_ats": [p.send_at for _, p in rows],
            "titles": [p.title for _, p in rows],
            "bodies": [p.body for _, p in rows],
            "data": [orjson.dumps(p.data).decode() for _, p in rows],
            "names": [p.subject_name for _, p in rows],
            "years": [p.years for _, p in rows],
        },
    )
