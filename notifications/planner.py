"""The planner: turns owners' contacts and reminders into scheduled_notifications rows.

Planning an owner computes, from a snapshot of their data, every push due in the next few
local days (``plan``), then upserts them by their unique key and retires pending rows it no
longer wants: deleted when their day is still ahead (a birthday edited away), marked MISSED
when their day has passed unsent. Rows a worker has claimed, tried or sent are never touched,
so planning twice plans once, and a re-plan cannot resend anything or erase what was sent.

An owner needs planning when their sync version moved past the one last planned (any write),
when their settings changed (``store.accounts.update_user`` resets the plan), or when the
last plan is an hour old (the window moves on with the clock). A pass claims the owners it
plans by locking their ``planner_owners`` rows (``SKIP LOCKED``), so workers share planning
instead of repeating each other, and a settings change waits for the pass in progress.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from model.agenda import ContactFacts, Owner, ReminderFacts
from model.clock import local_today
from notifications.plan import Planned, plan_pushes
from notifications.timing import jitter_for
from store import agenda, tables
from store.agenda import Window

log = logging.getLogger("rapport.notifications.planner")

HORIZON_DAYS = 7
REPLAN_AFTER = timedelta(hours=1)
OWNERS_PER_PASS = 500

_s = tables.scheduled_notifications
_p = tables.planner_owners


async def load_facts(
    conn: AsyncConnection, owner_ids: Sequence[UUID], window: Window | None = None
) -> tuple[dict[UUID, Owner], dict[UUID, list[ContactFacts]], dict[UUID, list[ReminderFacts]]]:
    """The owners' facts (``store.agenda``), each owner with their push jitter."""
    return await agenda.load_facts(conn, owner_ids, window, jitter=jitter_for)


_REACH = sa.text(
    "SELECT max(lead::int) FROM users AS u, jsonb_each(u.lead_days) AS kind,"
    " jsonb_array_elements_text(kind.value) AS lead WHERE u.id = ANY(CAST(:owners AS uuid[]))"
)


async def _reach(conn: AsyncConnection, owner_ids: Sequence[UUID]) -> int:
    """The most lead days any of these owners asked for."""
    return int(await conn.scalar(_REACH, {"owners": list(owner_ids)}) or 0)


async def add_missing_owners(engine: AsyncEngine, owner_ids: Sequence[UUID] | None = None) -> None:
    """Give owners (all, or these) a planner_owners row, so a pass can claim them by lock.

    Sign-up gives each user theirs; this is for owners made another way (the benchmark's
    generated ones) and for ``plan_owners``' named owners.

    A statement of its own, committed before any pass locks: two passes inserting the same
    new owner then never wait on each other's uncommitted row.
    """
    async with engine.begin() as conn:
        if owner_ids is None:
            await conn.execute(_ADD_MISSING)
        else:
            await conn.execute(_ADD_THESE, {"owners": list(owner_ids)})


_ADD_MISSING = sa.text(
    "INSERT INTO planner_owners (owner_id)"
    " SELECT o.owner_id FROM sync_owners AS o"
    " WHERE NOT EXISTS (SELECT FROM planner_owners AS p WHERE p.owner_id = o.owner_id)"
    " ON CONFLICT DO NOTHING"
)
_ADD_THESE = sa.text(
    "INSERT INTO planner_owners (owner_id)"
    " SELECT o.owner_id FROM sync_owners AS o WHERE o.owner_id = ANY(CAST(:owners AS uuid[]))"
    " ON CONFLICT DO NOTHING"
)


def select_needing_plan(now: datetime) -> sa.Select[Any]:
    """Owners whose data changed since their last plan, whose settings were reset, or whose
    plan is an hour old, with their current versions."""
    o, p = tables.sync_owners.c, _p.c
    return (
        sa.select(p.owner_id, o.version)
        .select_from(_p.join(tables.sync_owners, o.owner_id == p.owner_id))
        .where(
            sa.or_(
                o.version > p.planned_version,
                p.planned_at.is_(None),
                p.planned_at < now - REPLAN_AFTER,
            )
        )
    )


# The same lock on named owners, waited for, in one order (two callers cannot deadlock).
_LOCK = sa.text(
    "SELECT p.owner_id, o.version FROM planner_owners AS p"
    " JOIN sync_owners AS o ON o.owner_id = p.owner_id"
    " WHERE p.owner_id = ANY(CAST(:owners AS uuid[]))"
    " ORDER BY p.owner_id FOR UPDATE OF p"
)

_PLANNED = sa.text(
    "UPDATE planner_owners AS p SET planned_version = v.version, planned_at = :now"
    " FROM unnest(CAST(:owners AS uuid[]), CAST(:versions AS bigint[])) AS v(owner_id, version)"
    " WHERE p.owner_id = v.owner_id"
).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True)))


async def plan_owners(
    engine: AsyncEngine,
    owner_ids: Sequence[UUID],
    now: datetime,
    *,
    horizon_days: int = HORIZON_DAYS,
) -> int:
    """Plan these owners now, needed or not, in one transaction; return pushes pending."""
    if not owner_ids:
        return 0
    await add_missing_owners(engine, owner_ids)
    async with engine.begin() as conn:
        locked = await conn.execute(_LOCK, {"owners": list(owner_ids)})
        versions: dict[UUID, int] = {row[0]: row[1] for row in locked}
        return await plan_locked(conn, versions, now, horizon_days=horizon_days)


async def plan_claimed(
    engine: AsyncEngine, now: datetime, *, limit: int = OWNERS_PER_PASS
) -> tuple[int, int]:
    """Claim owners that need planning and plan them; return how many owners and pushes.

    The claim and the plan are one transaction: the owners stay locked until their plan is
    committed, so no other pass plans them meanwhile, and a settings change made meanwhile
    (``update_user`` resets ``planned_version`` on the locked row) waits and lands after it.
    """
    async with engine.begin() as conn:
        # Locked for this transaction; owners another pass (or a settings change) holds are
        # skipped, not waited for. The version is read with the lock: a write committed after
        # it bumps the version past it, so the owner is planned again.
        claim = select_needing_plan(now).limit(limit).with_for_update(of=_p, skip_locked=True)
        claimed = await conn.execute(claim)
        versions: dict[UUID, int] = {row.owner_id: row.version for row in claimed}
        if not versions:
            return 0, 0
        return len(versions), await plan_locked(conn, versions, now)


async def plan_locked(
    conn: AsyncConnection,
    versions: Mapping[UUID, int],
    now: datetime,
    *,
    horizon_days: int = HORIZON_DAYS,
) -> int:
    """Plan owners this transaction has locked, at their versions; return pushes pending."""
    owner_ids = list(versions)
    # Local days differ by a day at most across zones; leads reach further ahead.
    utc_today = now.astimezone(UTC).date()
    window = Window(
        utc_today - timedelta(days=1),
        utc_today + timedelta(days=horizon_days + 1 + await _reach(conn, owner_ids)),
    )
    owners, contacts, reminders = await load_facts(conn, owner_ids, window)
    rows: list[tuple[UUID, Planned]] = []
    planned_owners: list[UUID] = []
    for owner in owners.values():
        today = local_today(now, owner.prefs.time_zone)
        try:
            pushes = plan_pushes(
                owner, contacts.get(owner.id, []), reminders.get(owner.id, []), today, horizon_days
            )
        except Exception:
            # One owner's odd data must not hold up the batch, pass after pass: their pending
            # pushes stay as they were, and they are tried again on their next write or hour.
            log.exception("planning owner %s failed; their pending pushes are kept", owner.id)
            continue
        planned_owners.append(owner.id)
        rows.extend((owner.id, planned) for planned in pushes)
    await _store_plan(conn, planned_owners, rows, now)
    await conn.execute(
        _PLANNED,
        {
            "owners": list(owners),
            "versions": [versions[owner_id] for owner_id in owners],
            "now": now,
        },
    )
    return len(rows)


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
            CAST(:titles AS text[]), CAST(:bodies AS text[]), CAST(:data AS text[]))
            AS p(o, k, s, oc, l, ld, sa, t, b, d)
    ),
    upserted AS (
        INSERT INTO scheduled_notifications AS n (owner_id, id, kind, subject_id, occurrence,
            lead_days, local_date, send_at, due_at, title, body, data, created_at, updated_at)
        SELECT o, gen_random_uuid(), k, s, oc, l, ld, sa, sa, t, b, d::jsonb, :now, :now FROM p
        -- Rows already as planned, or the worker's, are left out before the insert: an
        -- ON CONFLICT that does nothing would still lock (and so write) every one of them.
        WHERE NOT EXISTS (
            SELECT FROM scheduled_notifications AS n
            WHERE (n.owner_id, n.kind, n.subject_id, n.occurrence, n.lead_days)
                = (p.o, p.k, p.s, p.oc, p.l)
              AND (n.status <> 'PENDING' OR n.attempts > 0
                   OR (n.local_date, n.send_at, n.title, n.body, n.data)
                      IS NOT DISTINCT FROM (p.ld, p.sa, p.t, p.b, p.d::jsonb)))
        ON CONFLICT (owner_id, kind, subject_id, occurrence, lead_days) DO UPDATE
        SET local_date = excluded.local_date, send_at = excluded.send_at,
            due_at = excluded.due_at, title = excluded.title, body = excluded.body,
            data = excluded.data, updated_at = excluded.updated_at
        -- Only rows no worker has tried follow the plan. Claimed, sent or finished rows are
        -- history; a pending one with attempts waits out a back-off (its due time is the
        -- worker's) and may have reached some devices already.
        WHERE n.status = 'PENDING' AND n.attempts = 0
          AND (n.local_date, n.send_at, n.title, n.body, n.data) IS DISTINCT FROM
              (excluded.local_date, excluded.send_at, excluded.title, excluded.body,
               excluded.data)
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


async def _store_plan(
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
        },
    )


async def plan_all(engine: AsyncEngine, now: datetime, *, concurrency: int = 4) -> tuple[int, int]:
    """Plan every owner that needs it, a few batches at a time; return owners and pushes.

    Several passes in flight keep both PostgreSQL and this process busy: one batch's rows
    are computed here while others are read or written there (4 measured best on 2 cores).
    Each claims its own owners, as several workers' passes do.
    """
    await add_missing_owners(engine)

    async def lane() -> tuple[int, int]:
        owners = pushes = 0
        while True:
            claimed, planned = await plan_claimed(engine, now)
            if not claimed:
                return owners, pushes
            owners, pushes = owners + claimed, pushes + planned

    done = await asyncio.gather(*(lane() for _ in range(concurrency)))
    return sum(owners for owners, _ in done), sum(pushes for _, pushes in done)


async def owners_to_plan(engine: AsyncEngine, now: datetime, limit: int | None) -> list[UUID]:
    """The owners a pass would claim now (without claiming them)."""
    async with engine.connect() as conn:
        rows = await conn.execute(select_needing_plan(now).limit(limit))
        return [row.owner_id for row in rows]


async def plan_due(engine: AsyncEngine, now: datetime, *, limit: int = OWNERS_PER_PASS) -> int:
    """Plan one batch of owners that need it; return how many owners were planned.

    Every user gets a planner_owners row at sign-up (``store.accounts.insert_user``;
    migration 0007 for those from before), so a pass claims from that table alone.
    """
    owners, pending = await plan_claimed(engine, now, limit=limit)
    if owners:
        log.debug("planned %d owners, %d pushes pending", owners, pending)
    return owners
