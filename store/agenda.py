"""What the agenda and the planner read: owners' settings, contacts with dates, reminders.

Both read through one ``Window`` of local days, so a planning pass over a million contacts
and a home screen alike read only the contacts with something in it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from model.agenda import ContactFacts, Owner, Preferences, ReminderFacts
from model.enums import RepeatUnit
from store import tables


def owner_of(row: Any, jitter: Callable[[UUID], int] | None = None) -> Owner:
    """An owner's settings; ``jitter`` gives their push jitter (none for the agenda)."""
    prefs = Preferences(
        time_zone=row.time_zone,
        hour=row.reminder_hour,
        quiet_start=row.quiet_hours_start,
        quiet_end=row.quiet_hours_end,
        jitter_minutes=jitter(row.id) if jitter is not None else 0,
    )
    return Owner(row.id, prefs, row.lead_days)


def reminder_of(row: Mapping[Any, Any]) -> ReminderFacts:
    """The facts of a reminders row (all columns, by name)."""
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
        # Local days are UTC days give or take one; the rules in insights/agenda.py decide exactly.
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
    conn: AsyncConnection,
    owner_ids: Sequence[UUID],
    window: Window | None = None,
    *,
    jitter: Callable[[UUID], int] | None = None,
) -> tuple[dict[UUID, Owner], dict[UUID, list[ContactFacts]], dict[UUID, list[ReminderFacts]]]:
    """The owners' settings, living contacts with dates, and living reminders.

    With a ``window``, only contacts with something in it are read (see ``Window``).
    """
    u, c, r = tables.users.c, tables.contacts.c, tables.reminders.c
    owners = {
        row.id: owner_of(row, jitter)
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
