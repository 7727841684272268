"""Per-request batch loaders; each batch runs on a short connection of its own.

Strawberry resolves sibling fields concurrently and one connection must not be shared between
concurrent tasks, so no loader holds a connection between batches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.dataloader import DataLoader

from store import contacts, insights, interactions, tags


class Loaders:
    def __init__(self, engine: AsyncEngine, owner_id: UUID) -> None:
        self.engine = engine
        self.owner_id = owner_id
        self.contact = DataLoader[UUID, sa.RowMapping | None](self._load_contacts)
        self.tags_of_contact = DataLoader[UUID, list[sa.RowMapping]](self._load_tags)
        self.latest_interactions = DataLoader[tuple[UUID, int], list[sa.RowMapping]](
            self._load_latest
        )
        self.participants = DataLoader[UUID, list[UUID]](self._load_participants)
        self.health_facts = DataLoader[UUID, list[sa.RowMapping]](self._load_health_facts)

    async def _load_contacts(self, ids: Sequence[UUID]) -> list[sa.RowMapping | None]:
        async with self.engine.connect() as conn:
            found = await contacts.get_contacts(conn, owner_id=self.owner_id, ids=ids)
        return [found.get(i) for i in ids]

    async def _load_tags(self, ids: Sequence[UUID]) -> list[list[sa.RowMapping]]:
        async with self.engine.connect() as conn:
            found = await tags.tags_of_contacts(conn, owner_id=self.owner_id, contact_ids=ids)
        return [found.get(i, []) for i in ids]

    async def _load_latest(self, keys: Sequence[tuple[UUID, int]]) -> list[list[sa.RowMapping]]:
        by_limit: dict[int, list[UUID]] = defaultdict(list)
        for contact_id, limit in keys:
            by_limit[limit].append(contact_id)
        found: dict[tuple[UUID, int], list[sa.RowMapping]] = {}
        async with self.engine.connect() as conn:
            for limit, ids in by_limit.items():
                rows = await interactions.latest_for_contacts(
                    conn, owner_id=self.owner_id, contact_ids=ids, limit=limit
                )
                for contact_id in ids:
                    found[(contact_id, limit)] = rows.get(contact_id, [])
        return [found[key] for key in keys]

    async def _load_participants(self, ids: Sequence[UUID]) -> list[list[UUID]]:
        async with self.engine.connect() as conn:
            found = await interactions.participants_of(
                conn, owner_id=self.owner_id, interaction_ids=ids
            )
        return [found.get(i, []) for i in ids]

    async def _load_health_facts(self, ids: Sequence[UUID]) -> list[list[sa.RowMapping]]:
        async with self.engine.connect() as conn:
            found = await insights.health_interactions(
                conn, owner_id=self.owner_id, contact_ids=ids
            )
        return [found.get(i, []) for i in ids]
