"""Networking events and the people planned to meet, or met, there."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa

from model.errors import FieldError, NotFound, ValidationFailed
from model.patches import AttendeePatch, EventPatch, validate_patch
from store import tables
from sync.entity import EVENT, EVENT_ATTENDEE
from sync.writer import Writer, require_row


async def put_event(
    w: Writer,
    event_id: UUID,
    data: dict[str, Any],
    *,
    clock: str | None = None,
    must_exist: bool = False,
) -> sa.RowMapping:
    """Create an event or change the fields a patch names."""
    row = await w.load(EVENT, {"id": event_id})
    if must_exist and (row is None or row["cl"] % 2 == 0):
        raise NotFound("event", event_id)
    values = validate_patch(EventPatch, data, creating=row is None)
    starts = values.get("startsAt", row["starts_at"] if row is not None else None)
    ends = values["endsAt"] if "endsAt" in values else (row["ends_at"] if row else None)
    if ends is not None and starts is not None and ends < starts:
        raise ValidationFailed([FieldError("endsAt", "ends before it starts; pick a later time")])
    clocks = dict.fromkeys(values, clock) if clock is not None else None
    written, won = await w.put(EVENT, {"id": event_id}, values, clocks=clocks, loaded=(row,))
    if "startsAt" in won and row is not None:
        # A target met here was met when the event starts (sync/derived.py).
        a = tables.event_attendees.c
        attendees = await w.conn.scalars(
            sa.select(a.contact_id).where(a.owner_id == w.owner_id, a.event_id == event_id)
        )
        w.touched_contacts.update(attendees.all())
    return written


async def set_attendee(
    w: Writer,
    event_id: UUID,
    contact_id: UUID,
    data: dict[str, Any],
    *,
    clock: str | None = None,
    cl: int | None = None,
    online: bool = True,
) -> sa.RowMapping:
    """Add a contact to an event (or bring them back) and merge the attendance's fields."""
    values = validate_patch(AttendeePatch, data, creating=False)
    # Online, both must be living; a device may refer to rows deleted elsewhere meanwhile.
    await require_row(w, tables.events, event_id, "event", alive=online)
    await require_row(w, tables.contacts, contact_id, "contact", alive=online)
    key = {"event_id": event_id, "contact_id": contact_id}
    row, _ = await w.insert_membership(EVENT_ATTENDEE, key, True, cl=cl)
    # MET attendance meets a target (sync/derived.py re-derives targetMetAt).
    w.touched_contacts.add(contact_id)
    if values:
        clocks = dict.fromkeys(values, clock) if clock is not None else None
        row, _ = await w.put(EVENT_ATTENDEE, key, values, clocks=clocks)
    assert row is not None
    return row


async def attend_event(
    w: Writer, event_id: UUID, contact_id: UUID, data: dict[str, Any]
) -> sa.RowMapping:
    """Online: put a living contact on a living event's list; return the event."""
    await set_attendee(w, event_id, contact_id, data)
    event = await w.load(EVENT, {"id": event_id})
    assert event is not None
    return event


async def remove_attendee(
    w: Writer, event_id: UUID, contact_id: UUID, *, cl: int | None = None
) -> None:
    """Take a contact off an event's list; both must name rows (deleted ones count)."""
    await require_row(w, tables.events, event_id, "event", alive=False)
    await require_row(w, tables.contacts, contact_id, "contact", alive=False)
    key = {"event_id": event_id, "contact_id": contact_id}
    await w.insert_membership(EVENT_ATTENDEE, key, False, cl=cl)
    w.touched_contacts.add(contact_id)
