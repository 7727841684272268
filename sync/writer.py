"""The one write path: every change to an owner's synced rows goes through a Writer.

Opening a writer bumps the owner's version row, which takes a row lock that every other
writer of the same owner waits on; versions therefore commit in version order and a pull
that reads ``server_version > cursor`` never skips a row committed late. Fields merge by
hybrid logical clock, deletes and restores by causal length, and every changed row is
stamped with the transaction's version. A notice goes out on commit so listeners can poke
subscribed devices.

The writer never commits: whoever opens it owns the transaction (``open_writer``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from model.clock import Clock, to_ms
from model.errors import FieldError, NotFound, ValidationFailed
from store import tables
from sync import derived
from sync.entity import DELETED_CLOCK, Entity, OwnerSettings
from sync.hlc import max_hlc, tick_hlc

CHANNEL = "rapport_changes"
# The greatest causal length a row can hold (an INTEGER column).
MAX_CL = 2**31 - 1
_MISSING = object()
SERVER_NODE = "server"


class UnknownOwner(LookupError):
    """The owner has no version row: the account does not exist (or was deleted)."""


@dataclass
class Writer:
    conn: AsyncConnection
    owner_id: UUID
    version: int
    now: datetime
    # The clock the server stamps on this transaction's online writes.
    stamp: str
    time_zone: str
    seen_hlc: str
    epoch: UUID
    changed: bool = False
    # The client whose push this is, so its own change notices need not poke it.
    origin: str | None = None
    # Rows read or written in this transaction, by entity and key, when a caller that never
    # rolls back part of the transaction turns caching on (a fast push).
    cache: dict[tuple[str, tuple[Any, ...]], sa.RowMapping | None] | None = None
    touched_contacts: set[UUID] = field(default_factory=set)
    settings: OwnerSettings = field(default_factory=OwnerSettings)

    def tick(self) -> str:
        """Return a fresh server clock, later than every clock this transaction has seen."""
        self.stamp = tick_hlc(
            max_hlc(self.seen_hlc, self.stamp), to_ms(self.now), SERVER_NODE
        ).pack()
        self.observe(self.stamp)
        return self.stamp

    def observe(self, clock: str) -> None:
        """Remember a client clock, so later server stamps come after it."""
        if clock > self.seen_hlc:
            self.seen_hlc = clock

    def _where(self, entity: Entity, key: Mapping[str, Any]) -> list[sa.ColumnElement[bool]]:
        table = entity.table
        return [table.c.owner_id == self.owner_id, *(table.c[k] == key[k] for k in entity.key)]

    def _cache_key(self, entity: Entity, key: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        return entity.name, tuple(key[k] for k in entity.key)

    def _remember(self, entity: Entity, key: Mapping[str, Any], row: sa.RowMapping | None) -> None:
        if self.cache is not None:
            self.cache[self._cache_key(entity, key)] = row

    async def load(self, entity: Entity, key: Mapping[str, Any]) -> sa.RowMapping | None:
        """Read a row, locked for the rest of the transaction."""
        if self.cache is not None:
            cached = self.cache.get(self._cache_key(entity, key), _MISSING)
            if cached is not _MISSING:
                return cast(sa.RowMapping | None, cached)
        query = sa.select(entity.table).where(*self._where(entity, key)).with_for_update()
        row = (await self.conn.execute(query)).mappings().first()
        self._remember(entity, key, row)
        return row

    async def prefetch(self, entity: Entity, ids: list[UUID]) -> None:
        """Load and lock many rows in one statement, for the loads that follow."""
        if self.cache is None or not ids:
            return
        table = entity.table
        query = (
            sa.select(table)
            .where(table.c.owner_id == self.owner_id, table.c.id.in_(ids))
            .with_for_update()
        )
        found = {row["id"]: row for row in (await self.conn.execute(query)).mappings()}
        for row_id in ids:
            self.cache[(entity.name, (row_id,))] = found.get(row_id)

    async def put(
        self,
        entity: Entity,
        key: Mapping[str, Any],
        values: Mapping[str, Any],
        *,
        clocks: Mapping[str, str] | None = None,
        must_exist: bool = False,
        alive_only: bool = False,
        loaded: tuple[sa.RowMapping | None] | None = None,
    ) -> tuple[sa.RowMapping, list[str]]:
        """Merge field values into a row, creating it if absent; return it and the fields won.

        ``clocks`` gives each field's client clock; fields without one get the server stamp,
        which is later than any clock this owner has seen, so an online write always wins.
        """
        clocks = clocks or {}
        # ``loaded`` passes on a row the caller already read (and locked) in this transaction.
        row = loaded[0] if loaded is not None else await self.load(entity, key)
        if row is None and (must_exist or alive_only):
            raise NotFound(entity.name, key.get("id", key))
        if row is not None and alive_only and row["cl"] % 2 == 0:
            raise NotFound(entity.name, key.get("id", key))
        field_hlc: dict[str, str] = dict(row["field_hlc"]) if row is not None else {}
        updates: dict[str, Any] = {}
        won: list[str] = []
        for name, value in values.items():
            clock = clocks.get(name, self.stamp)
            self.observe(clock)
            if clock > field_hlc.get(name, ""):
                field_hlc[name] = clock
                updates.update(entity.columns_for(name, value))
                won.append(name)
        if row is not None and not won:
            return row, won
        merged = {**(dict(row) if row is not None else {}), **updates}
        if entity.derive is not None:
            updates.update(entity.derive(merged))
        if entity.derive_owned is not None and (row is None or entity.derive_reads & set(won)):
            updates.update(entity.derive_owned(merged, self.settings))
        updates.update(field_hlc=field_hlc, server_version=self.version, updated_at=self.now)
        table = entity.table
        if row is None:
            insert = sa.insert(table).values(
                owner_id=self.owner_id, **dict(key), cl=1, created_at=self.now, **updates
            )
            result = await self.conn.execute(insert.returning(table))
        else:
            update = sa.update(table).where(*self._where(entity, key)).values(**updates)
            result = await self.conn.execute(update.returning(table))
        self.changed = True
        written = result.mappings().one()
        self._remember(entity, key, written)
        return written, won

    async def create_many(
        self, entity: Entity, items: Sequence[tuple[Mapping[str, Any], Mapping[str, Any], str]]
    ) -> list[sa.RowMapping]:
        """Insert rows the caller knows are absent: ``(key, values, clock)`` each.

        What ``put`` does for a new row, for many rows in one statement per set of columns: a
        device creating a thousand contacts offline should not cost a thousand round trips.
        """
        by_columns: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
        for n, (key, values, clock) in enumerate(items):
            self.observe(clock)
            columns = entity.new_columns(values, self.settings)
            params = {
                "owner_id": self.owner_id,
                **key,
                "cl": 1,
                "created_at": self.now,
                **columns,
                "field_hlc": dict.fromkeys(values, clock),
                "server_version": self.version,
                "updated_at": self.now,
            }
            by_columns.setdefault(tuple(params), []).append((n, params))
        written: list[sa.RowMapping | None] = [None] * len(items)
        insert = sa.insert(entity.table).returning(entity.table, sort_by_parameter_order=True)
        for group in by_columns.values():
            result = await self.conn.execute(insert, [params for _, params in group])
            for (n, _), inserted in zip(group, result.mappings().all(), strict=True):
                written[n] = inserted
        self.changed = self.changed or bool(items)
        rows = [inserted for inserted in written if inserted is not None]
        for (key, _, _), inserted in zip(items, rows, strict=True):
            self._remember(entity, key, inserted)
        return rows

    async def set_alive(
        self, entity: Entity, key: Mapping[str, Any], alive: bool, *, cl: int | None = None
    ) -> tuple[sa.RowMapping, bool]:
        """Delete (alive=False) or restore a row by causal length; return it and whether it moved.

        A delete moves an odd length to the next even one, a restore an even one to the next
        odd one, so a restore made after seeing a delete beats that delete, and a delete beats
        any concurrent edit (edits never change the length). A client may send the length it
        wants (``cl``); the greater length wins.
        """
        row = await self.load(entity, key)
        if row is None:
            raise NotFound(entity.name, key.get("id", key))
        current: int = row["cl"]
        target = cl if cl is not None else current + (1 if (current % 2 == 1) != alive else 0)
        if target <= current:
            return row, False
        if target > MAX_CL:
            raise ValidationFailed([FieldError("args.cl", f"must be at most {MAX_CL}")])
        values: dict[str, Any] = {
            "cl": target,
            "server_version": self.version,
            "updated_at": self.now,
        }
        if entity.clocks_deletes and target % 2 == 0:
            # A fresh tick is later than every device clock received so far, so a device
            # clock later than this one belongs to an edit made after the delete reached us.
            values["field_hlc"] = {**row["field_hlc"], DELETED_CLOCK: self.tick()}
        update = (
            sa.update(entity.table)
            .where(*self._where(entity, key))
            .values(**values)
            .returning(entity.table)
        )
        self.changed = True
        moved = (await self.conn.execute(update)).mappings().one()
        self._remember(entity, key, moved)
        return moved, True

    async def insert_membership(
        self, entity: Entity, key: Mapping[str, Any], alive: bool, *, cl: int | None = None
    ) -> tuple[sa.RowMapping | None, bool]:
        """Add (alive) or remove a set member such as a contact's tag; absent rows start alive.

        A device may send the causal length it wants (``cl``): odd to add, even to remove.
        """
        row = await self.load(entity, key)
        if row is None:
            if not alive:
                return None, False
            insert = (
                sa.insert(entity.table)
                .values(
                    owner_id=self.owner_id,
                    **dict(key),
                    cl=cl or 1,
                    server_version=self.version,
                    created_at=self.now,
                    updated_at=self.now,
                )
                .returning(entity.table)
            )
            self.changed = True
            inserted = (await self.conn.execute(insert)).mappings().one()
            self._remember(entity, key, inserted)
            return inserted, True
        return await self.set_alive(entity, key, alive, cl=cl)

    async def flush(self) -> dict[UUID, sa.RowMapping]:
        """Recompute derived values of the contacts touched so far; return those that changed."""
        if not self.touched_contacts:
            return {}
        refreshed = await derived.refresh_contacts(
            self.conn,
            owner_id=self.owner_id,
            contact_ids=sorted(self.touched_contacts),
            version=self.version,
            now=self.now,
            time_zone=self.time_zone,
        )
        self.touched_contacts.clear()
        self.changed = self.changed or bool(refreshed)
        if self.cache is not None:
            # The refresh rewrote contacts behind the cache's back.
            self.cache = {k: v for k, v in self.cache.items() if k[0] != "contact"}
        return refreshed

    async def finish(self) -> None:
        """Refresh derived values, remember the clock, and announce the change on commit."""
        await self.flush()
        if not self.changed:
            return
        await self.conn.execute(
            sa.update(tables.sync_owners)
            .where(tables.sync_owners.c.owner_id == self.owner_id)
            .values(hlc=sa.func.greatest(tables.sync_owners.c.hlc, self.seen_hlc))
        )
        payload = json.dumps(
            {
                "owner": str(self.owner_id),
                "version": self.version,
                "epoch": str(self.epoch),
                "origin": self.origin,
            }
        )
        await self.conn.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))


async def require_row(
    w: Writer, table: sa.Table, row_id: UUID, entity: str, *, alive: bool
) -> None:
    """Raise NotFound unless ``row_id`` names one of the owner's rows (``alive``: a living one)."""
    conditions = [table.c.owner_id == w.owner_id, table.c.id == row_id]
    if alive:
        conditions.append(table.c.cl % 2 == 1)
    if await w.conn.scalar(sa.select(table.c.id).where(*conditions)) is None:
        raise NotFound(entity, row_id)


async def begin_write(conn: AsyncConnection, owner_id: UUID, clock: Clock) -> Writer:
    """Bump the owner's version (locking it until the transaction ends) and return a writer."""
    owners, users = tables.sync_owners, tables.users
    bump = (
        sa.update(owners)
        .where(owners.c.owner_id == owner_id, users.c.id == owners.c.owner_id)
        # needs_plan: the notifications planner plans the owner again (and clears it).
        .values(version=owners.c.version + 1, needs_plan=True)
        .returning(
            owners.c.version,
            owners.c.hlc,
            owners.c.epoch,
            users.c.time_zone,
            users.c.sentiment_enabled,
        )
    )
    row = (await conn.execute(bump)).first()
    if row is None:
        raise UnknownOwner(owner_id)
    now = clock.now()
    stamp = tick_hlc(row.hlc, to_ms(now), SERVER_NODE).pack()
    return Writer(
        conn=conn,
        owner_id=owner_id,
        version=row.version,
        now=now,
        stamp=stamp,
        time_zone=row.time_zone,
        epoch=row.epoch,
        seen_hlc=max_hlc(row.hlc, stamp),
        settings=OwnerSettings(sentiment_enabled=row.sentiment_enabled),
    )


@asynccontextmanager
async def open_writer(engine: AsyncEngine, owner_id: UUID, clock: Clock) -> AsyncIterator[Writer]:
    """Run one write transaction for an owner: commit if the block succeeds, else roll back."""
    async with engine.begin() as conn:
        writer = await begin_write(conn, owner_id, clock)
        yield writer
        await writer.finish()
