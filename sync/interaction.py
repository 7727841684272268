"""Interaction writes. Participants follow the interaction's ``contactIds`` field."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from model.patches import InteractionPatch, validate_patch
from store import tables
from sync.contact import require_alive_contacts
from sync.entity import INTERACTION
from sync.writer import Writer

_p = tables.interaction_participants


async def _participants(w: Writer, interaction_id: UUID) -> list[UUID]:
    rows = await w.conn.scalars(
        sa.select(_p.c.contact_id).where(
            _p.c.owner_id == w.owner_id, _p.c.interaction_id == interaction_id
        )
    )
    return list(rows.all())


async def apply_participants(
    w: Writer, row: sa.RowMapping, won: list[str], contact_ids: list[UUID] | None
) -> None:
    """Keep interaction_participants in step with the fields this write won."""
    interaction_id: UUID = row["id"]
    alive = row["cl"] % 2 == 1
    before = await _participants(w, interaction_id)
    w.touched_contacts.update(before)
    if "contactIds" in won and contact_ids is not None:
        wanted = list(dict.fromkeys(contact_ids))
        await w.conn.execute(
            sa.delete(_p).where(
                _p.c.owner_id == w.owner_id,
                _p.c.interaction_id == interaction_id,
                _p.c.contact_id.not_in(wanted),
            )
        )
        await w.conn.execute(
            pg_insert(_p)
            .values(
                [
                    {
                        "owner_id": w.owner_id,
                        "interaction_id": interaction_id,
                        "contact_id": contact_id,
                        "occurred_at": row["occurred_at"],
                        "alive": alive,
                    }
                    for contact_id in wanted
                ]
            )
            .on_conflict_do_nothing()
        )
        w.touched_contacts.update(wanted)
    if "occurredAt" in won:
        await w.conn.execute(
            sa.update(_p)
            .where(_p.c.owner_id == w.owner_id, _p.c.interaction_id == interaction_id)
            .values(occurred_at=row["occurred_at"])
        )


async def add_participants(w: Writer, interactions: list[tuple[sa.RowMapping, list[UUID]]]) -> None:
    """Record the participants of interactions just created, in one statement."""
    rows = [
        {
            "owner_id": w.owner_id,
            "interaction_id": row["id"],
            "contact_id": contact_id,
            "occurred_at": row["occurred_at"],
            "alive": row["cl"] % 2 == 1,
        }
        for row, contact_ids in interactions
        for contact_id in dict.fromkeys(contact_ids)
    ]
    if rows:
        await w.conn.execute(pg_insert(_p).on_conflict_do_nothing(), rows)
        w.touched_contacts.update(r["contact_id"] for r in rows)


async def log_interaction(w: Writer, interaction_id: UUID, data: dict[str, Any]) -> sa.RowMapping:
    """Record an interaction with one or more contacts; their follow-ups reset."""
    values = validate_patch(InteractionPatch, data, creating=True)
    await require_alive_contacts(w, values["contactIds"])
    row, won = await w.put(INTERACTION, {"id": interaction_id}, values)
    await apply_participants(w, row, won, values["contactIds"])
    return row


async def update_interaction(
    w: Writer, interaction_id: UUID, data: dict[str, Any]
) -> sa.RowMapping:
    """Change the fields a patch names."""
    values = validate_patch(InteractionPatch, data, creating=False)
    if values.get("contactIds"):
        await require_alive_contacts(w, values["contactIds"])
    row, won = await w.put(INTERACTION, {"id": interaction_id}, values, alive_only=True)
    await apply_participants(w, row, won, values.get("contactIds"))
    return row


async def set_interaction_alive(
    w: Writer, interaction_id: UUID, alive: bool, *, cl: int | None = None
) -> sa.RowMapping:
    """Delete or restore an interaction; its contacts' follow-ups are recomputed."""
    row, moved = await w.set_alive(INTERACTION, {"id": interaction_id}, alive=alive, cl=cl)
    if moved:
        await w.conn.execute(
            sa.update(_p)
            .where(_p.c.owner_id == w.owner_id, _p.c.interaction_id == interaction_id)
            .values(alive=alive)
        )
        w.touched_contacts.update(await _participants(w, interaction_id))
    return row
