"""Reminders: the one rule for writing one, online and from a device's push.

A reminder may name one of the owner's contacts. Online, the contact must be living: the
client sees the current state, so a deleted contact is a mistake to report. From a push, a
contact deleted elsewhere still counts (it must be one of the owner's rows): the device made
the reminder while it saw the contact, and refusing it would drop the user's reminder while
every later edit of it was refused too. The reminder is kept, linked to the deleted contact,
and comes back whole if the contact is restored (docs/sync.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from insights.agenda import due_occurrence
from model.clock import local_today
from model.errors import Conflict, FieldError, NotFound, ValidationFailed
from model.patches import ReminderPatch, validate_patch
from store import tables
from store.agenda import reminder_of
from sync.entity import REMINDER
from sync.writer import Writer, require_row


async def put_reminder(
    w: Writer,
    reminder_id: UUID,
    data: dict[str, Any],
    *,
    clock: str | None = None,
    online: bool = True,
    must_exist: bool = False,
) -> sa.RowMapping:
    """Create a reminder or change the fields a patch names (``must_exist``: a living one)."""
    row = await w.load(REMINDER, {"id": reminder_id})
    values = validate_patch(ReminderPatch, data, creating=row is None and not must_exist)
    if values.get("contactId") is not None:
        await require_row(w, tables.contacts, values["contactId"], "contact", alive=online)
    clocks = dict.fromkeys(values, clock) if clock is not None else None
    written, _ = await w.put(
        REMINDER, {"id": reminder_id}, values, clocks=clocks, alive_only=must_exist, loaded=(row,)
    )
    return written


async def snooze_reminder(w: Writer, reminder_id: UUID, until: dt.date) -> sa.RowMapping:
    """Move a living reminder's due occurrence to ``until``, a day after the owner's today."""
    if until <= local_today(w.now, w.time_zone):
        raise ValidationFailed([FieldError("until", "snooze to a day after today")])
    written, _ = await w.put(
        REMINDER, {"id": reminder_id}, {"snoozedUntil": until}, alive_only=True
    )
    return written


async def complete_reminder(w: Writer, reminder_id: UUID) -> sa.RowMapping:
    """Mark the occurrence due now done, with those its snooze covered; clear the snooze."""
    row = await w.load(REMINDER, {"id": reminder_id})
    if row is None or row["cl"] % 2 == 0:
        raise NotFound("reminder", reminder_id)
    due = due_occurrence(reminder_of(row), local_today(w.now, w.time_zone))
    if due is None:
        raise Conflict("this reminder is already done")
    # Synced fields, so every device agrees on what is done (docs/sync.md).
    values = {"completedThrough": due.through, "snoozedUntil": None}
    written, _ = await w.put(REMINDER, {"id": reminder_id}, values, loaded=(row,))
    return written


async def delete_reminder(w: Writer, reminder_id: UUID) -> sa.RowMapping:
    """Delete a reminder; restoring it brings it back."""
    row, _ = await w.set_alive(REMINDER, {"id": reminder_id}, alive=False)
    return row
