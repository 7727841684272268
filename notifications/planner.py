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
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notifications.backlog import (
    add_missing_owners,
    claim_owners,
    lock_owners,
    mark_planned,
)
from notifications.calendar import RepeatUnit
from notifications.plan import (
    ContactFacts,
    Owner,
    Planned,
    ReminderFacts,
    plan_pushes,
)
from notifications.schedule import store_plan
from notifications.timing import Preferences, jitter_for, local_today
from store import tables

log = logging.getLogger("rapport.notifications.planner")

HORIZON_DAYS = 7
OWNERS_PER_PASS = 500

_s = tables.scheduled_notifications


def owner_of(row: Any) -> Owner:
    prefs = Preferences(
        time_zone=row.time_zone,
        hour=row.reminder_hour,
        quiet_start=row.quiet_hours_start,
        quiet_end=row.quiet_hours_end,
        jitter_minutes=jitter_for(row.id),
    )
    return Owner(row.id, prefs, row.lead_days)


def reminder_of(row: Mapping[Any, Any]) -> ReminderFacts:
    """The planner's view of a reminders row (all columns, by name)."""
    return ReminderFacts(
        id=row["id"],
        title=row["title"],
        due_on=row["due_on"],
        due_time=row["due_time"],
        repeat_unit=RepeatUnit(row["repeat_unit"]) if row["repeat_unit"] else None,
        repeat_every=row["repeat_every"],
        lead_days=row["lead_days"],
        snoozed_until=row["snoozed_until"],
        completed_through=row["completed_through"],
        contact_id=row["contact_id"],
        notes=row["notes"],
    )


@dataclass(frozen=True)
class Window:
    """The local days a planning pass (or an agenda) looks at, across the owners it reads.

    Contacts whose birthday, anniversary or follow-up falls outside it (most of them, on most
    days) are left in the database: a pass over a million contacts reads only the few
    percent it may plan for.
    """

    first: date
    last: date
    # The agenda lists follow-ups that fell due before ``first``; pushes never go for them.
    overdue: bool = False
    # A contact's own lead days may reach past the pass's: the planner reads such contacts.
    own_leads: bool = True

    def month_days(self) -> list[int]:
        """Every month*100+day in the window; Feb 28 brings Feb 29 along (leap-day people)."""
        days = {
            (self.first + timedelta(days=n)).month * 100 + (self.first + timedelta(days=n)).day
            for n in range(min((self.last - self.first).days + 1, 367))
        }
        if 228 in days:
            days.add(229)
        return sorted(days)

    def relevant(self) -> sa.ColumnElement[bool]:
        """Contacts with something in the window, in SQL."""
        c = tables.contacts.c
        month_days = sa.bindparam("month_days", self.month_days(), type_=ARRAY(sa.Integer))
        started = sa.extract("month", c.work_started_on) * 100 + sa.extract(
            "day", c.work_started_on
        )
        # Local days are UTC days give or take one; the rules in plan.py decide exactly.
        follow_ups_end = datetime.combine(self.last, time(0), UTC) + timedelta(days=2)
        follow_ups = (
            c.next_follow_up_at < follow_ups_end
            if self.overdue
            else c.next_follow_up_at.between(
                datetime.combine(self.first, time(0), UTC) - timedelta(days=1), follow_ups_end
            )
        )
        conditions = [
            (c.birthday_month * 100 + c.birthday_day) == sa.func.any(month_days),
            sa.cast(started, sa.Integer) == sa.func.any(month_days),
            follow_ups,
        ]
        if self.own_leads:
            conditions.append(c.lead_days.is_not(None))
        return sa.or_(*conditions)


async def load_facts(
    conn: AsyncConnection, owner_ids: Sequence[UUID], window: Window | None = None
) -> tuple[dict[UUID, Owner], dict[UUID, list[ContactFacts]], dict[UUID, list[ReminderFacts]]]:
    """The owners' settings, living contacts with dates, and living reminders.

    With a ``window``, only contacts with something in it are read (see ``Window``).
    """
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
    if window is None:
        relevant = sa.or_(
            c.birthday_month.is_not(None),
            c.work_started_on.is_not(None),
            c.next_follow_up_at.is_not(None),
        )
    else:
        relevant = window.relevant()
    contacts: dict[UUID, list[ContactFacts]] = defaultdict(list)
    query = sa.select(
        c.owner_id,
        c.id,
        # concat_ws skips nulls, and empty last names are trimmed away.
        sa.func.coalesce(
            sa.func.nullif(sa.func.btrim(sa.func.concat_ws(" ", c.first_name, c.last_name)), ""),
            "Someone",
        ).label("name"),
        c.company,
        c.birthday_month,
        c.birthday_day,
        c.birthday_year,
        c.work_started_on,
        c.next_follow_up_at,
        c.lead_days,
    ).where(c.owner_id.in_(owner_ids), c.cl % 2 == 1, relevant)
    # Unpacked by position (the columns above, in ContactFacts' order): a pass builds a
    # great many of these, and attribute access on each row costs more than the rest.
    for owner_id, *facts in await conn.execute(query):
        contacts[owner_id].append(ContactFacts(*facts))
    reminders: dict[UUID, list[ReminderFacts]] = defaultdict(list)
    query = sa.select(tables.reminders).where(r.owner_id.in_(owner_ids), r.cl % 2 == 1)
    for reminder in (await conn.execute(query)).mappings():
        reminders[reminder["owner_id"]].append(reminder_of(reminder))
    return owners, contacts, reminders


_REACH = sa.text(
    "SELECT max(lead::int) FROM users AS u, jsonb_each(u.lead_days) AS kind,"
    " jsonb_array_elements_text(kind.value) AS lead WHERE u.id = ANY(CAST(:owners AS uuid[]))"
)


async def _reach(conn: AsyncConnection, owner_ids: Sequence[UUID]) -> int:
    """The most lead days any of these owners asked for."""
    return int(await conn.scalar(_REACH, {"owners": list(owner_ids)}) or 0)


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
        versions = await lock_owners(conn, owner_ids)
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
        versions = await claim_owners(conn, now, limit)
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
    await store_plan(conn, planned_owners, rows, now)
    await mark_planned(conn, {owner_id: versions[owner_id] for owner_id in owners}, now)
    return len(rows)


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


async def plan_due(engine: AsyncEngine, now: datetime, *, limit: int = OWNERS_PER_PASS) -> int:
    """Plan one batch of owners that need it; return how many owners were planned.

    Every user gets a planner_owners row at sign-up (``store.accounts.insert_user``;
    migration 0007 for those from before), so a pass claims from that table alone.
    """
    owners, pending = await plan_claimed(engine, now, limit=limit)
    if owners:
        log.debug("planned %d owners, %d pushes pending", owners, pending)
    return owners
