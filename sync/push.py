"""Push: apply a device's numbered mutations exactly once, in order, in one transaction.

Each client numbers its mutations 1, 2, 3… The client row keeps the last number applied, in the
same transaction as the effects, so a retry after a lost response skips what was applied. A
gap is refused with the number to resend from. A mutation that can never apply (bad input,
unknown name, or any failure of its own nobody foresaw) is recorded as rejected and still
advances the number, so no device is wedged; only a transient failure of the database fails
the push, for the device to resend (sync.failure).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import Clock, to_ms
from model.errors import Conflict, NotFound, RapportError, ValidationFailed
from store import tables
from sync import client as clients
from sync.batch import BATCHED, BATCHED_ENTITY, batchable
from sync.entity import CONTACT, INTERACTION, Entity
from sync.failure import is_transient, printable
from sync.hlc import InvalidHlc, parse_hlc
from sync.metrics import PUSH_MUTATIONS
from sync.mutation import HANDLERS
from sync.writer import Writer, open_writer

log = logging.getLogger("rapport.sync.push")

MAX_MUTATIONS = 1_000
# A device clock further ahead than this is not trusted.
MAX_CLOCK_LEAD = timedelta(minutes=5)


class Status(StrEnum):
    APPLIED = "APPLIED"
    ALREADY_APPLIED = "ALREADY_APPLIED"
    REJECTED = "REJECTED"
    NOT_APPLIED = "NOT_APPLIED"


@dataclass(frozen=True)
class Mutation:
    id: int
    name: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class MutationResult:
    id: int
    status: Status
    reason: str | None = None


@dataclass(frozen=True)
class PushResult:
    last_mutation_id: int
    results: list[MutationResult]
    server_hlc: str
    resend_from: int | None
    clock_restamped: bool


def _reason(exc: RapportError) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
    return str(exc)


class _Careful(Exception):
    """A mutation failed on the fast path: roll the push back and apply it one by one."""


# Mutations whose rows a fast push loads up front, in one statement per entity.
_PREFETCH = {
    "contact.put": CONTACT,
    "contact.delete": CONTACT,
    "contact.restore": CONTACT,
    "interaction.put": INTERACTION,
    "interaction.delete": INTERACTION,
    "interaction.restore": INTERACTION,
}


@dataclass
class _Batch:
    """A run of mutations creating new rows of one kind, applied together on the fast path.

    Only while nothing else happens in between: any other mutation applies the batch first,
    so every mutation still sees the effects of all those before it.
    """

    name: str | None = None
    ids: set[UUID] = field(default_factory=set)
    args: list[Mapping[str, Any]] = field(default_factory=list)

    def take(self, w: Writer, name: str, args: Mapping[str, Any]) -> bool:
        """Add the mutation if it creates a row no earlier mutation touched; say if it did."""
        if not batchable(name, args) or (self.name is not None and name != self.name):
            return False
        try:
            row_id = UUID(str(args.get("id")))
        except ValueError:
            return False
        entity = BATCHED_ENTITY[name]
        # Prefetched and absent, and not created earlier in this batch.
        if w.cache is None or w.cache.get((entity.name, (row_id,)), False) is not None:
            return False
        if row_id in self.ids:
            return False
        self.name = name
        self.ids.add(row_id)
        self.args.append(args)
        return True

    async def apply(self, w: Writer) -> None:
        if self.name is not None:
            await BATCHED[self.name](w, self.args)
        self.name, self.ids, self.args = None, set(), []


async def apply_push(
    engine: AsyncEngine,
    *,
    owner_id: UUID,
    client_id: str,
    mutations: Sequence[Mutation],
    clock: Clock,
) -> PushResult:
    """Apply what is new in ``mutations``; return a result for each and the last id applied.

    The fast path applies the batch without a savepoint per mutation, with its rows loaded in
    a few statements. If any mutation fails there, the whole transaction rolls back and the
    push runs again carefully, each mutation in its own savepoint, so that one bad mutation is
    rejected alone. Both paths give the same results.
    """
    PUSH_MUTATIONS.observe(len(mutations))
    try:
        return await _apply(engine, owner_id, client_id, mutations, clock, careful=False)
    except _Careful:
        return await _apply(engine, owner_id, client_id, mutations, clock, careful=True)


async def _prefetch(w: Writer, mutations: Sequence[Mutation], last: int) -> None:
    wanted: dict[str, tuple[Entity, list[UUID]]] = {}
    for mutation in mutations:
        entity = _PREFETCH.get(mutation.name)
        if entity is None or mutation.id <= last:
            continue
        try:
            row_id = UUID(str(mutation.args.get("id")))
        except ValueError:
            continue
        wanted.setdefault(entity.name, (entity, []))[1].append(row_id)
    for entity, ids in wanted.values():
        await w.prefetch(entity, ids)


async def _apply(
    engine: AsyncEngine,
    owner_id: UUID,
    client_id: str,
    mutations: Sequence[Mutation],
    clock: Clock,
    *,
    careful: bool,
) -> PushResult:
    async with open_writer(engine, owner_id, clock) as w:
        client = await clients.lock_client(
            w.conn, owner_id=owner_id, client_id=client_id, now=w.now
        )
        w.origin = client_id
        last: int = client["last_mutation_id"]
        if not careful:
            w.cache = {}
            await _prefetch(w, mutations, last)
        results: list[MutationResult] = []
        resend_from: int | None = None
        restamped = False
        horizon = to_ms(w.now + MAX_CLOCK_LEAD)
        # Device clocks re-stamped in this push, and the server clocks that replaced them.
        restamps: dict[str, str] = {}
        # Creations of rows that do not exist yet, gathered while they come in a run.
        batch = _Batch()
        for mutation in sorted({m.id: m for m in mutations}.values(), key=lambda m: m.id):
            reason: str | None = None
            if mutation.id <= last:
                results.append(MutationResult(mutation.id, Status.ALREADY_APPLIED))
                continue
            if mutation.id > last + 1:
                resend_from = last + 1
                reason = f"mutation {last + 1} is missing; resend from {last + 1}"
                results.append(MutationResult(mutation.id, Status.NOT_APPLIED, reason))
                continue
            args = dict(mutation.args)
            if "hlc" in args:
                try:
                    if parse_hlc(str(args["hlc"])).wall_ms > horizon:
                        # The device's clock runs ahead: its edits take the server's clock.
                        args["hlc"] = restamps[str(mutation.args["hlc"])] = w.tick()
                        restamped = True
                except InvalidHlc as exc:
                    reason = f"args.hlc: {exc}"
            base = args.get("base")
            if restamps and isinstance(base, dict):
                # A later edit in this push names an earlier one's clock as its base: the
                # clock that edit was written with is the one to compare.
                args["base"] = {
                    k: restamps.get(v, v) if isinstance(v, str) else v for k, v in base.items()
                }
            handler = HANDLERS.get(mutation.name)
            if handler is None:
                reason = f"unknown mutation {mutation.name!r}; known: {', '.join(sorted(HANDLERS))}"
            if reason is None and not careful:
                assert handler is not None
                try:
                    if not batch.take(w, mutation.name, args):
                        await batch.apply(w)
                        await handler(w, args)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    raise _Careful from exc
            elif reason is None:
                seen, touched = w.seen_hlc, set(w.touched_contacts)
                # One fixed savepoint name: asyncpg prepares the statement once per connection.
                await w.conn.exec_driver_sql("SAVEPOINT mutation")
                try:
                    assert handler is not None
                    await handler(w, args)
                except (ValidationFailed, NotFound, Conflict) as exc:
                    await w.conn.exec_driver_sql("ROLLBACK TO SAVEPOINT mutation")
                    await w.conn.exec_driver_sql("RELEASE SAVEPOINT mutation")
                    # A refused mutation leaves no trace, not even in the clock.
                    w.seen_hlc, w.touched_contacts = seen, touched
                    reason = _reason(exc)
                except Exception as exc:
                    if is_transient(exc):
                        raise  # the database failed, not the mutation: the device resends
                    # Input the rules above missed (the database refuses it, or the code
                    # trips on it): it would fail the same way on every resend, so reject
                    # it alone rather than fail the push and wedge the device.
                    await w.conn.exec_driver_sql("ROLLBACK TO SAVEPOINT mutation")
                    await w.conn.exec_driver_sql("RELEASE SAVEPOINT mutation")
                    w.seen_hlc, w.touched_contacts = seen, touched
                    log.error(
                        "mutation %s (%s) of client %s failed; rejected",
                        mutation.id,
                        printable(mutation.name),
                        printable(client_id),
                        exc_info=exc,
                    )
                    reason = "the server could not store this mutation; it was not applied"
                else:
                    await w.conn.exec_driver_sql("RELEASE SAVEPOINT mutation")
            if reason is None:
                results.append(MutationResult(mutation.id, Status.APPLIED))
            else:
                await w.conn.execute(
                    sa.insert(tables.sync_rejections).values(
                        client_id=client_id,
                        mutation_id=mutation.id,
                        owner_id=owner_id,
                        name=printable(mutation.name),
                        reason=printable(reason),
                        created_at=w.now,
                    )
                )
                results.append(MutationResult(mutation.id, Status.REJECTED, printable(reason)))
            last = mutation.id
        try:
            await batch.apply(w)
        except Exception as exc:
            if is_transient(exc):
                raise
            raise _Careful from exc
        c = tables.sync_clients.c
        values: dict[str, Any] = {"last_seen_at": w.now}
        if last != client["last_mutation_id"]:
            values.update(last_mutation_id=last, last_mutation_version=w.version)
        if restamped:
            values["clock_flagged_at"] = w.now
        await w.conn.execute(
            sa.update(tables.sync_clients)
            .where(c.owner_id == owner_id, c.client_id == client_id)
            .values(**values)
        )
        server_hlc = w.seen_hlc
    return PushResult(last, results, server_hlc, resend_from, restamped)
