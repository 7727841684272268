"""The planner: turns owners' contacts and reminders into scheduled_notifications rows.

Planning an owner computes, from a snapshot of their data, every push due in the next few
local days (``plan``), then upserts them by their unique key and retires pending rows it no
longer wants: deleted when their day is still ahead (a birthday edited away), marked MISSED
when their day has passed unsent. Rows already claimed or sent are never touched, so
planning twice plans once, and a re-plan cannot resend anything.

An owner needs planning when their sync version moved past the one last planned (any write),
when their settings changed (``store.accounts.update_user`` resets the plan), or when the
last plan is an hour old (the window moves on with the clock).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notifications.calendar import RepeatUnit
from notifications.plan import (
    ContactFacts,
    Owner,
    Planned,
    ReminderFacts,
    plan_pushes,
)
from notifications.timing import Preferences, jitter_for, local_today
from store import tables

log = logging.getLogger("rapport.notifications.planner")

HORIZON_DAYS = 7
REPLAN_AFTER = timedelta(hours=1)
OWNERS_PER_PASS = 500

_s = tables.scheduled_notifications
_p = tables.planner_owners


def owner_of(row: Any) -> Owner:
    prefs = Preferences(
        time_zone=row.time_zone,
        hour=row.reminder_hour,
        quiet_start=row.quiet_hours_start,
        quiet_end=row.quiet_hours_end,
        jitter_minutes=jitter_for(row.id),
    )
    return Owner(row.id, prefs, row.lead_days)


def contact_of(row: Any) -> ContactFacts:
    name = " ".join(part for part in (row.first_name, row.last_name) if part) or "Someone"
    return ContactFacts(
        id=row.id,
        name=name,
        company=row.company,
        birthday_month=row.birthday_month,
        birthday_day=row.birthday_day,
        birthday_year=row.birthday_year,
        work_started_on=row.work_started_on,
        next_follow_up_at=row.next_follow_up_at,
        lead_days=row.lead_days,
    )


def reminder_of(row: Any) -> ReminderFacts:
    return ReminderFacts(
        id=row.id,
        title=row.title,
        due_on=row.due_on,
        due_time=row.due_time,
        repeat_unit=RepeatUnit(row.repeat_unit) if row.repeat_unit else None,
        repeat_every=row.repeat_every,
        lead_days=row.lead_days,
        snoozed_until=row.snoozed_until,
        completed_through=row.completed_through,
        contact_id=row.contact_id,
        notes=row.notes,
    )


async def load_facts(
    conn: AsyncConnection, owner_ids: Sequence[UUID]
) -> tuple[dict[UUID, Owner], dict[UUID, list[ContactFacts]], dict[UUID, list[ReminderFacts]]]:
    """The owners' settings, living contacts with dates, and living reminders."""
    u, c, r = tables.users.c, tables.contacts.c, tables.reminders.c
    owners = {
        row.id: owner_of(row)
        for row in await conn.execute(
            sa.select(
                u.id,
                u.time_zone,
                u.reminder_hour,
                u.quiet_hours_start,
                u.quiet_hours_end,
                u.lead_days,
            ).where(u.id.in_(owner_ids))
        )
    }
    contacts: dict[UUID, list[ContactFacts]] = defaultdict(list)
    query = sa.select(
        c.owner_id,
        c.id,
        c.first_name,
        c.last_name,
        c.company,
        c.birthday_month,
        c.birthday_day,
        c.birthday_year,
        c.work_started_on,
        c.next_follow_up_at,
        c.lead_days,
    ).where(
        c.owner_id.in_(owner_ids),
        c.cl % 2 == 1,
        sa.or_(
            c.birthday_month.is_not(None),
            c.work_started_on.is_not(None),
            c.next_follow_up_at.is_not(None),
        ),
    )
    for row in await conn.execute(query):
        contacts[row.owner_id].append(contact_of(row))
    reminders: dict[UUID, list[ReminderFacts]] = defaultdict(list)
    query = sa.select(tables.reminders).where(r.owner_id.in_(owner_ids), r.cl % 2 == 1)
    for row in await conn.execute(query):
        reminders[row.owner_id].append(reminder_of(row))
    return owners, contacts, reminders


def _row(owner_id: UUID, planned: Planned, plan_id: UUID, now: datetime) -> dict[str, Any]:
    return {
        "owner_id": owner_id,
        "id": uuid.uuid4(),
        "kind": planned.kind.value,
        "subject_id": planned.subject_id,
        "occurrence": planned.occurrence,
        "lead_days": planned.lead_days,
        "local_date": planned.local_date,
        "send_at": planned.send_at,
        "due_at": planned.send_at,
        "title": planned.title,
        "body": planned.body,
        "data": planned.data,
        "plan_id": plan_id,
        "created_at": now,
        "updated_at": now,
    }


async def plan_owners(
    engine: AsyncEngine,
    owner_ids: Sequence[UUID],
    now: datetime,
    *,
    horizon_days: int = HORIZON_DAYS,
) -> int:
    """Plan these owners in one transaction; return how many pushes they have pending."""
    if not owner_ids:
        return 0
    plan_id = uuid.uuid4()
    async with engine.begin() as conn:
        # The versions first: a write committed after this read bumps the version past it,
        # so the owner is planned again next pass and nothing is lost in between.
        o = tables.sync_owners.c
        versions = dict(
            (
                await conn.execute(
                    sa.select(o.owner_id, o.version).where(o.owner_id.in_(owner_ids))
                )
            ).all()
        )
        owners, contacts, reminders = await load_facts(conn, owner_ids)
        rows = []
        for owner in owners.values():
            today = local_today(now, owner.prefs.time_zone)
            for planned in plan_pushes(
                owner, contacts.get(owner.id, []), reminders.get(owner.id, []), today, horizon_days
            ):
                rows.append(_row(owner.id, planned, plan_id, now))
        await _store_plan(conn, list(owners), rows, plan_id, now)
        await conn.execute(
            pg_insert(_p)
            .values(
                [
                    {
                        "owner_id": owner_id,
                        "planned_version": versions.get(owner_id, 0),
                        "planned_at": now,
                    }
                    for owner_id in owners
                ]
            )
            .on_conflict_do_update(
                index_elements=[_p.c.owner_id],
                set_={"planned_version": sa.text("excluded.planned_version"), "planned_at": now},
            )
        )
    return len(rows)


async def _store_plan(
    conn: AsyncConnection,
    owner_ids: list[UUID],
    rows: list[dict[str, Any]],
    plan_id: UUID,
    now: datetime,
) -> None:
    if rows:
        insert = pg_insert(_s)
        await conn.execute(
            insert.on_conflict_do_update(
                index_elements=[
                    _s.c.owner_id,
                    _s.c.kind,
                    _s.c.subject_id,
                    _s.c.occurrence,
                    _s.c.lead_days,
                ],
                set_={
                    "local_date": insert.excluded.local_date,
                    "send_at": insert.excluded.send_at,
                    "due_at": insert.excluded.due_at,
                    "title": insert.excluded.title,
                    "body": insert.excluded.body,
                    "data": insert.excluded.data,
                    "plan_id": insert.excluded.plan_id,
                    "updated_at": now,
                },
                # Claimed, sent or finished rows are history; only pending ones follow the plan.
                where=_s.c.status == "PENDING",
            ),
            rows,
        )
    stale = sa.and_(
        _s.c.owner_id.in_(owner_ids),
        _s.c.status == "PENDING",
        _s.c.plan_id.is_distinct_from(plan_id),
    )
    # Their day has passed unsent (no worker ran): say so rather than drop them silently.
    u = tables.users.c
    local_day = sa.cast(sa.func.timezone(u.time_zone, sa.literal(now)), sa.Date)
    await conn.execute(
        sa.update(_s)
        .where(stale, u.id == _s.c.owner_id, _s.c.local_date < local_day)
        .values(status="MISSED", updated_at=now, last_error="its day passed while no worker ran")
    )
    # Still ahead but no longer wanted: the birthday was edited, the reminder completed.
    await conn.execute(sa.delete(_s).where(stale))


async def owners_to_plan(engine: AsyncEngine, now: datetime, limit: int) -> list[UUID]:
    """Owners whose data changed since their last plan, or whose plan is getting old."""
    o, p = tables.sync_owners.c, _p.c
    query = (
        sa.select(o.owner_id)
        .select_from(tables.sync_owners.outerjoin(_p, p.owner_id == o.owner_id))
        .where(
            sa.or_(
                p.owner_id.is_(None),
                o.version > p.planned_version,
                p.planned_at < now - REPLAN_AFTER,
            )
        )
        .limit(limit)
    )
    async with engine.connect() as conn:
        return list((await conn.scalars(query)).all())


async def plan_due(engine: AsyncEngine, now: datetime, *, limit: int = OWNERS_PER_PASS) -> int:
    """Plan one batch of owners that need it; return how many owners were planned."""
    owner_ids = await owners_to_plan(engine, now, limit)
    if owner_ids:
        pending = await plan_owners(engine, owner_ids, now)
        log.debug("planned %d owners, %d pushes pending", len(owner_ids), pending)
    return len(owner_ids)
