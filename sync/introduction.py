"""Introductions the user makes: an interaction with both people, counted as given."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa

from model.errors import FieldError, ValidationFailed
from store import tables
from sync.contact import require_alive_contacts
from sync.interaction import log_interaction
from sync.writer import Writer


async def log_introduction(
    w: Writer, interaction_id: UUID, contact_a: UUID, contact_b: UUID, note: str | None
) -> sa.RowMapping:
    """Record that the user introduced two of their contacts to each other."""
    if contact_a == contact_b:
        raise ValidationFailed(
            [FieldError("contactB", "introduce a contact to someone else, not to themselves")]
        )
    await require_alive_contacts(w, [contact_a, contact_b])
    c = tables.contacts.c
    names = {
        row.id: f"{row.first_name} {row.last_name}".strip()
        for row in await w.conn.execute(
            sa.select(c.id, c.first_name, c.last_name).where(
                c.owner_id == w.owner_id, c.id.in_([contact_a, contact_b])
            )
        )
    }
    pair = f"{names[contact_a]} and {names[contact_b]}"
    return await log_interaction(
        w,
        interaction_id,
        {
            "contactIds": [contact_a, contact_b],
            "kind": "INTRODUCTION",
            "occurredAt": w.now,
            "summary": f"Introduced {pair}"[:500],
            "body": note,
            "given": f"An introduction: {pair}"[:500],
        },
    )
