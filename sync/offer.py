"""Accepting a follow-up offer: a reminder per new person, through the reminder rule."""

from __future__ import annotations

import datetime as dt
from uuid import UUID
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from insights import offer
from model.clock import local_today
from model.errors import Conflict, FieldError, NotFound, ValidationFailed
from model.text import MAX_NAME
from store import offer as offer_store
from sync import reminder
from sync.entity import INTERACTION, new_id
from sync.writer import Writer


def _name(row: sa.RowMapping) -> str:
    return f"{row['first_name']} {row['last_name']}".strip()


async def accept_offer(
    w: Writer, interaction_id: UUID, due_on: dt.date | None
) -> list[tuple[sa.RowMapping, dt.date]]:
    """Create the offered reminders (one per new person); return them with today's date.

    The offer is judged again in this transaction, so accepting twice (or after something
    else was logged) is a Conflict rather than a second set of reminders.
    """
    row = await w.load(INTERACTION, {"id": interaction_id})
    if row is None or row["cl"] % 2 == 0:
        raise NotFound("interaction", interaction_id)
    today = local_today(w.now, w.time_zone)
    if due_on is not None and due_on < today:
        raise ValidationFailed(
            [FieldError("dueOn", f"is before today ({today.isoformat()}); pick a later day")]
        )
    people = await offer_store.new_people(w.conn, owner_id=w.owner_id, interaction_id=row["id"])
    occurred_on = row["occurred_at"].astimezone(ZoneInfo(w.time_zone)).date()
    found = offer.offer_follow_up(row["kind"], occurred_on, today, [_name(p) for p in people])
    if found is None:
        raise Conflict(
            "no follow-up is on offer for this interaction: it is not a first meeting, call, "
            "video call, meal or event under 30 days old with someone who has no reminder yet"
        )
    written = []
    for person in people:
        notes = f"After the {row['kind'].lower()} on {occurred_on.isoformat()}: {row['summary']}"
        created = await reminder.put_reminder(
            w,
            new_id(),
            {
                # A title is a name's length at most; two long names would not fit.
                "title": offer.reminder_title(_name(person))[:MAX_NAME].rstrip(),
                "notes": notes.removesuffix(": "),
                "dueOn": due_on or found.due_on,
                "contactId": person["id"],
            },
        )
        written.append((created, today))
    return written
