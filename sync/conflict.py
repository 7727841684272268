"""Conflicts: the losing text of concurrent edits, kept until the user picks a side."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from model.errors import NotFound
from store import keyset, tables
from sync.arguments import PutArgs
from sync.entity import ENTITIES, Entity, snake_case
from sync.writer import Writer

k = tables.sync_conflicts.c
OPEN_ORDER = (
    keyset.SortKey(k.created_at, "created_at", "time", descending=True),
    keyset.SortKey(k.id, "id", "uuid", descending=True),
)


class Keep(StrEnum):
    WINNER = "WINNER"  # the value now on every device stays; the conflict is dismissed
    LOSER = "LOSER"  # the losing value is written back as a new edit


async def list_conflicts(
    conn: AsyncConnection, *, owner_id: UUID, after: Sequence[object] | None, limit: int
) -> list[sa.RowMapping]:
    """Return open conflicts, newest first."""
    conditions = [k.owner_id == owner_id, k.resolved_at.is_(None)]
    if after is not None:
        conditions.append(keyset.after_condition(OPEN_ORDER, after))
    query = (
        sa.select(tables.sync_conflicts)
        .where(*conditions)
        .order_by(*keyset.order_clauses(OPEN_ORDER))
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings().all())


async def count_conflicts(conn: AsyncConnection, *, owner_id: UUID) -> int:
    query = sa.select(sa.func.count()).where(k.owner_id == owner_id, k.resolved_at.is_(None))
    return int(await conn.scalar(query) or 0)


async def resolve_conflict(w: Writer, conflict_id: UUID, keep: Keep) -> sa.RowMapping:
    """Close a conflict, writing the losing value back when the user keeps it."""
    query = (
        sa.select(tables.sync_conflicts)
        .where(k.owner_id == w.owner_id, k.id == conflict_id)
        .with_for_update()
    )
    conflict = (await w.conn.execute(query)).mappings().first()
    if conflict is None or conflict["resolved_at"] is not None:
        raise NotFound("conflict", conflict_id)
    if keep is Keep.LOSER:
        entity = ENTITIES[conflict["entity"]]
        await w.put(
            entity, {"id": conflict["entity_id"]}, {conflict["field"]: conflict["losing_value"]}
        )
    update = (
        sa.update(tables.sync_conflicts)
        .where(k.owner_id == w.owner_id, k.id == conflict_id)
        .values(resolved_at=w.now, resolution=keep.value)
        .returning(tables.sync_conflicts)
    )
    closed: sa.RowMapping = (await w.conn.execute(update)).mappings().one()
    return closed


# Fields whose losing value is kept as a conflict rather than dropped.
LONG_TEXT: dict[str, tuple[str, ...]] = {
    "contact": ("notes", "researchNotes"),
    "interaction": ("body",),
    "goal": ("description",),
    "event": ("notes",),
}


async def record_conflicts(
    w: Writer,
    entity: Entity,
    row: Mapping[Any, Any] | None,
    values: Mapping[str, Any],
    args: PutArgs,
) -> None:
    """Keep the losing text of a pushed edit of a long text field, before the edit merges."""
    if row is None:
        return
    for name in LONG_TEXT.get(entity.name, ()):
        if name not in values:
            continue
        stored_clock = row["field_hlc"].get(name, "")
        stored = row[snake_case(name)]  # long text fields are plain columns
        incoming = values[name]
        if stored == incoming or not stored_clock:
            continue
        if args.hlc <= stored_clock:
            loser, loser_clock, winner, winner_clock = incoming, args.hlc, stored, stored_clock
        elif name in args.base and args.base[name] != stored_clock:
            # The device edited an older value than the one it now replaces: both were edits.
            loser, loser_clock, winner, winner_clock = stored, stored_clock, incoming, args.hlc
        else:
            continue
        await w.conn.execute(
            sa.insert(tables.sync_conflicts).values(
                owner_id=w.owner_id,
                id=uuid.uuid4(),
                entity=entity.name,
                entity_id=args.id,
                field=name,
                losing_value=loser,
                losing_hlc=loser_clock,
                winning_value=winner,
                winning_hlc=winner_clock,
                created_at=w.now,
            )
        )
