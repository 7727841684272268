"""Bulk import of many new rows in one write transaction (seeding, migrations from elsewhere).

Rows get the same stamps as any write: the transaction's version, a server clock on every
field, causal length 1, and their derived values. Input is trusted (generated or already
checked); each row is not merged field by field, so use it for rows that do not exist yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from store import tables
from sync.entity import Entity
from sync.writer import Writer

CHUNK = 2_000


async def import_rows(
    w: Writer, entity: Entity, rows: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
) -> None:
    """Insert new rows given as (key, field values) pairs."""
    records: list[dict[str, Any]] = []
    for key, values in rows:
        columns = entity.new_columns(values, w.settings)
        records.append(
            {
                "owner_id": w.owner_id,
                **key,
                **columns,
                "field_hlc": dict.fromkeys(values, w.stamp),
                "cl": 1,
                "server_version": w.version,
                "created_at": w.now,
                "updated_at": w.now,
            }
        )
    # An executemany needs the same columns in every row: insert rows that name the same
    # fields together, and let the others take their column defaults.
    groups: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[frozenset(record)].append(record)
    for group in groups.values():
        for start in range(0, len(group), CHUNK):
            await w.conn.execute(sa.insert(entity.table), group[start : start + CHUNK])
    w.changed = w.changed or bool(records)


async def import_participants(w: Writer, pairs: Sequence[tuple[UUID, UUID, Any]]) -> None:
    """Link imported interactions to contacts: (interaction id, contact id, occurred at)."""
    records = [
        {
            "owner_id": w.owner_id,
            "interaction_id": interaction_id,
            "contact_id": contact_id,
            "occurred_at": occurred_at,
            "alive": True,
        }
        for interaction_id, contact_id, occurred_at in pairs
    ]
    for start in range(0, len(records), CHUNK):
        await w.conn.execute(
            sa.insert(tables.interaction_participants), records[start : start + CHUNK]
        )
    w.touched_contacts.update(contact_id for _, contact_id, _ in pairs)
