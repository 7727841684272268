"""Helpers for sync tests: a device replica that applies pulled pages as an app would."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import to_ms
from store.accounts import insert_user
from sync.entity import new_id
from sync.hlc import Hlc
from sync.pull import PullPage, collect_changes
from sync.push import Mutation, PushResult, apply_push

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Change:
    """One pulled change, parsed from the JSON the server sends."""

    entity: str
    id: str
    deleted: bool
    cl: int
    server_version: int
    fields: dict[str, Any] | None
    clocks: dict[str, str]
    derived: dict[str, Any]


def changes_of(page: PullPage) -> list[Change]:
    parsed = []
    for text in page.changes:
        data = json.loads(text)
        parsed.append(
            Change(
                entity=data["entity"],
                id=data["id"],
                deleted=data["deleted"],
                cl=data["cl"],
                server_version=data["serverVersion"],
                fields=data["fields"],
                clocks=data["clocks"],
                derived=data["derived"],
            )
        )
    return parsed


async def make_owner(engine: AsyncEngine, *, verified: bool = False) -> UUID:
    """A user; ``verified``: their email counts as proven (colleague invitations need it)."""
    owner = new_id()
    async with engine.begin() as conn:
        await insert_user(
            conn,
            user_id=owner,
            now=NOW,
            email=f"{owner}@example.com",
            email_verified_at=NOW if verified else None,
        )
    return owner


def clock_at(moment: datetime, node: str, counter: int = 0) -> str:
    return Hlc(to_ms(moment), counter, node).pack()


@dataclass
class Replica:
    """What a device holds: the latest change per row, and its cursor."""

    client_id: str
    rows: dict[tuple[str, str], Change] = field(default_factory=dict)
    cursor: str | None = None
    cursors: list[str] = field(default_factory=list)
    next_mutation: int = 1

    def apply(self, changes: list[Change]) -> None:
        for change in changes:
            key = (change.entity, change.id)
            held = self.rows.get(key)
            # Pages never go back in version; a row may reappear with a newer one.
            assert held is None or change.server_version >= held.server_version
            self.rows[key] = change

    async def pull_all(self, engine: AsyncEngine, owner: UUID, limit: int = 500) -> int:
        pages = 0
        while True:
            page = await collect_changes(
                engine, owner_id=owner, client_id=self.client_id, cursor=self.cursor, limit=limit
            )
            if page.reset:
                self.rows.clear()
                self.cursor = None
                continue
            self.apply(changes_of(page))
            assert page.cursor is not None
            self.cursor = page.cursor
            self.cursors.append(page.cursor)
            pages += 1
            if not page.has_more:
                return pages

    async def push(
        self, engine: AsyncEngine, owner: UUID, clock: Any, *calls: tuple[str, dict[str, Any]]
    ) -> PushResult:
        mutations = []
        for name, args in calls:
            mutations.append(Mutation(self.next_mutation, name, args))
            self.next_mutation += 1
        return await apply_push(
            engine, owner_id=owner, client_id=self.client_id, mutations=mutations, clock=clock
        )

    def alive(self, entity: str) -> dict[str, dict[str, Any]]:
        return {
            key: change.fields or {}
            for (kind, key), change in self.rows.items()
            if kind == entity and not change.deleted
        }
