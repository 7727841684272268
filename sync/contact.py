"""Contact writes: create, update, delete, restore. Each takes the caller's Writer."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa

from model.errors import FieldError, NotFound, ValidationFailed
from model.patches import ContactPatch, validate_patch
from store import tables
from sync.derived import DERIVED_FROM
from sync.entity import CONTACT
from sync.target import check_target_goal
from sync.writer import Writer


async def check_introducer(
    w: Writer, contact_id: UUID, values: dict[str, Any], *, alive_only: bool = True
) -> None:
    """Refuse an introducer that is the contact itself or not one of the owner's contacts."""
    introducer = values.get("introducedById")
    if introducer is None:
        return
    if introducer == contact_id:
        raise ValidationFailed(
            [FieldError("introducedById", "a contact cannot introduce themselves")]
        )
    c = tables.contacts.c
    conditions = [c.owner_id == w.owner_id, c.id == introducer]
    if alive_only:
        conditions.append(c.cl % 2 == 1)
    found = await w.conn.scalar(sa.select(c.id).where(*conditions))
    if found is None:
        raise ValidationFailed(
            [
                FieldError(
                    "introducedById", f"no contact with id {introducer}; pick one of your contacts"
                )
            ]
        )


async def create_contact(w: Writer, contact_id: UUID, data: dict[str, Any]) -> sa.RowMapping:
    """Create a contact from a patch of its fields."""
    values = validate_patch(ContactPatch, data, creating=True)
    await check_introducer(w, contact_id, values)
    await check_target_goal(w, values)
    row, _ = await w.put(CONTACT, {"id": contact_id}, values)
    w.touched_contacts.add(contact_id)
    return (await w.flush()).get(contact_id, row)


async def update_contact(w: Writer, contact_id: UUID, data: dict[str, Any]) -> sa.RowMapping:
    """Change the fields a patch names; leave the others as they are."""
    values = validate_patch(ContactPatch, data, creating=False)
    await check_introducer(w, contact_id, values)
    await check_target_goal(w, values)
    row, won = await w.put(CONTACT, {"id": contact_id}, values, alive_only=True)
    if DERIVED_FROM & set(won):
        w.touched_contacts.add(contact_id)
        return (await w.flush()).get(contact_id, row)
    return row


async def delete_contact(w: Writer, contact_id: UUID) -> sa.RowMapping:
    """Delete a contact; its interactions and tags stay, hidden, until a restore."""
    row, _ = await w.set_alive(CONTACT, {"id": contact_id}, alive=False)
    return row


async def restore_contact(w: Writer, contact_id: UUID) -> sa.RowMapping:
    """Bring a deleted contact back with everything it had; a merged one cannot come back."""
    current = await w.load(CONTACT, {"id": contact_id})
    if current is not None and current["merged_into"] is not None:
        # Its history moved to the survivor (sync/merge.py): back, it would be an empty shell.
        raise ValidationFailed(
            [
                FieldError(
                    "id",
                    f"contact {contact_id} was merged into contact {current['merged_into']}; "
                    "it cannot be restored",
                )
            ]
        )
    row, _ = await w.set_alive(CONTACT, {"id": contact_id}, alive=True)
    return row


async def refresh_follow_ups(w: Writer) -> None:
    """Re-derive the follow-up dates that depend on the owner's time zone, which changed.

    Cadences and snoozes count local days, so their dates move with the zone; the changed
    contacts get this transaction's version, and devices pull the new dates.
    """
    c = tables.contacts.c
    query = sa.select(c.id).where(
        c.owner_id == w.owner_id,
        sa.or_(c.cadence_days.is_not(None), c.snoozed_until.is_not(None)),
    )
    w.touched_contacts.update((await w.conn.scalars(query)).all())
    await w.flush()


async def require_alive_contacts(w: Writer, contact_ids: list[UUID]) -> None:
    """Raise NotFound for the first id that names no living contact of the owner."""
    c = tables.contacts.c
    found = set(
        (
            await w.conn.scalars(
                sa.select(c.id).where(
                    c.owner_id == w.owner_id, c.id.in_(contact_ids), c.cl % 2 == 1
                )
            )
        ).all()
    )
    for contact_id in contact_ids:
        if contact_id not in found:
            raise NotFound("contact", contact_id)
