"""Rows of one batched read, grouped by the key each row belongs to (a loader's batch)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def fetch_grouped(
    conn: AsyncConnection, query: sa.Executable, key: str
) -> dict[UUID, list[sa.RowMapping]]:
    """Run ``query``; return its rows by their ``key`` column, in the order they came."""
    found: dict[UUID, list[sa.RowMapping]] = defaultdict(list)
    for row in (await conn.execute(query)).mappings():
        found[row[key]].append(row)
    return found


def column_of(groups: dict[UUID, list[sa.RowMapping]], column: str) -> dict[UUID, list[Any]]:
    """Keep one column of each grouped row."""
    return {key: [row[column] for row in rows] for key, rows in groups.items()}
