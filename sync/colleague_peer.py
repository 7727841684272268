"""The other side's step: how a change on one side of a colleague link reaches the other.

DESIGN's rule is one owner per transaction, and a link, a shared card and an introduction
request are stored once per side. So a cross-account action is two transactions: the acting
side's (its own row changes, ``peer_synced`` false), then this module's step in the other
owner's transaction, then a short one marking the row synced. A step is idempotent and only
moves the other row forward (a missing row is inserted, a PENDING one decided, an ACTIVE link
ended; an INTRODUCTION interaction is logged with an id derived from the request, in the same
transaction as the row's move), so running it twice changes nothing. If it fails or the process
dies between the two transactions, the row stays unsynced and ``replay`` applies it again on the
acting owner's next colleague call.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from model.clock import Clock
from store import tables
from sync.interaction import log_interaction
from sync.writer import Writer, open_writer

log = logging.getLogger("rapport.colleagues")

_l = tables.colleagues.c
_cards = tables.shared_cards
_requests = tables.introduction_requests
_NAMESPACE = uuid.UUID("5b0c6f44-3f7e-4a59-9a43-1d2c6f0e7a18")
DECIDED = ("ACCEPTED", "DECLINED", "DISMISSED")


def introduction_interaction_id(request_id: UUID, owner_id: UUID) -> UUID:
    """Return the id of one side's INTRODUCTION interaction: the same however often it is logged."""
    return uuid.uuid5(_NAMESPACE, f"introduction:{request_id}:{owner_id}")


async def end_pending_items(conn: AsyncConnection, owner_id: UUID, link_id: UUID) -> None:
    """End the owner's undecided cards and requests of a link that ended."""
    for table in (_cards, _requests):
        await conn.execute(
            sa.update(table)
            .where(
                table.c.owner_id == owner_id,
                table.c.link_id == link_id,
                table.c.status == "PENDING",
            )
            .values(status="ENDED")
        )


async def _peer_of(conn: AsyncConnection, owner_id: UUID, link_id: UUID) -> UUID | None:
    query = sa.select(_l.peer_id).where(_l.owner_id == owner_id, _l.id == link_id)
    peer: UUID | None = await conn.scalar(query)
    return peer


async def _peer_link_active(conn: AsyncConnection, peer_id: UUID, link_id: UUID) -> bool:
    query = sa.select(_l.id).where(_l.owner_id == peer_id, _l.id == link_id, _l.status == "ACTIVE")
    return await conn.scalar(query) is not None


async def _mark_synced(engine: AsyncEngine, table: sa.Table, row: sa.RowMapping) -> None:
    # Only if the row is still as it was sent: a change made since has its own step to run.
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(table)
            .where(
                table.c.owner_id == row["owner_id"],
                table.c.id == row["id"],
                table.c.status == row["status"],
            )
            .values(peer_synced=True)
        )


async def push_link(engine: AsyncEngine, row: sa.RowMapping, now: datetime) -> None:
    """Make the other side's link agree with this side's: created, or ended."""
    peer_id = row["peer_id"]
    if peer_id is not None:
        async with engine.begin() as conn:
            if row["status"] == "ACTIVE":
                me = (
                    await conn.execute(
                        sa.select(tables.users.c.email, tables.users.c.display_name).where(
                            tables.users.c.id == row["owner_id"]
                        )
                    )
                ).one()
                await conn.execute(
                    pg_insert(tables.colleagues)
                    .values(
                        owner_id=peer_id,
                        id=row["id"],
                        peer_id=row["owner_id"],
                        peer_name=me.display_name or me.email or "",
                        peer_email=me.email or "",
                        status="ACTIVE",
                        linked_at=row["linked_at"],
                        peer_synced=True,
                    )
                    .on_conflict_do_nothing()
                )
            else:
                ended_by = "COLLEAGUE" if row["ended_by"] == "YOU" else row["ended_by"]
                await conn.execute(
                    sa.update(tables.colleagues)
                    .where(_l.owner_id == peer_id, _l.id == row["id"], _l.status == "ACTIVE")
                    .values(status="ENDED", ended_by=ended_by, ended_at=now, peer_synced=True)
                )
                await end_pending_items(conn, peer_id, row["id"])
    await _mark_synced(engine, tables.colleagues, row)


async def push_card(engine: AsyncEngine, row: sa.RowMapping) -> None:
    """Deliver a shared card to the colleague, or tell the sender what became of it.

    Nothing is left to do when the colleague's account is gone (``peer_id`` cleared).
    """
    async with engine.begin() as conn:
        peer_id = await _peer_of(conn, row["owner_id"], row["link_id"])
        if peer_id is not None and row["direction"] == "OUT" and row["status"] == "PENDING":
            if await _peer_link_active(conn, peer_id, row["link_id"]):
                values = {
                    k: row[k]
                    for k in ("id", "link_id", "card", "note", "introduction_id", "created_at")
                }
                await conn.execute(
                    pg_insert(_cards)
                    .values(
                        **values,
                        owner_id=peer_id,
                        direction="IN",
                        status="PENDING",
                        peer_synced=True,
                    )
                    .on_conflict_do_nothing()
                )
            else:
                await _end_own(conn, _cards, row)
        elif peer_id is not None and row["direction"] == "IN" and row["status"] in DECIDED:
            await conn.execute(
                sa.update(_cards)
                .where(
                    _cards.c.owner_id == peer_id,
                    _cards.c.id == row["id"],
                    _cards.c.status == "PENDING",
                )
                .values(status=row["status"], responded_at=row["responded_at"])
            )
    await _mark_synced(engine, _cards, row)


async def _end_own(conn: AsyncConnection, table: sa.Table, row: sa.RowMapping) -> None:
    # The colleague ended the link before this item reached them: it ends here too.
    await conn.execute(
        sa.update(table)
        .where(table.c.owner_id == row["owner_id"], table.c.id == row["id"])
        .values(status="ENDED", peer_synced=True)
    )


async def push_request(engine: AsyncEngine, clock: Clock, row: sa.RowMapping) -> None:
    """Deliver an introduction request, or bring the asker the introducer's answer."""
    async with engine.connect() as conn:
        peer_id = await _peer_of(conn, row["owner_id"], row["link_id"])
    if peer_id is not None and row["direction"] == "OUT" and row["status"] == "PENDING":
        async with engine.begin() as conn:
            if await _peer_link_active(conn, peer_id, row["link_id"]):
                values = {k: row[k] for k in ("id", "link_id", "whom", "note", "created_at")}
                await conn.execute(
                    pg_insert(_requests)
                    .values(
                        **values,
                        owner_id=peer_id,
                        direction="IN",
                        status="PENDING",
                        peer_synced=True,
                    )
                    .on_conflict_do_nothing()
                )
            else:
                await _end_own(conn, _requests, row)
    elif peer_id is not None and row["direction"] == "IN" and row["status"] in DECIDED:
        async with open_writer(engine, peer_id, clock) as w:
            await _answer_asker(w, row)
    await _mark_synced(engine, _requests, row)


async def _answer_asker(w: Writer, row: sa.RowMapping) -> None:
    r = _requests.c
    moved = (
        (
            await w.conn.execute(
                sa.update(_requests)
                .where(r.owner_id == w.owner_id, r.id == row["id"], r.status == "PENDING")
                .values(
                    status=row["status"],
                    response=row["response"],
                    responded_at=row["responded_at"],
                    shared_card_id=row["shared_card_id"],
                )
                .returning(_requests)
            )
        )
        .mappings()
        .first()
    )
    if moved is not None and moved["status"] == "ACCEPTED" and moved["contact_id"] is not None:
        await log_received_introduction(w, moved, moved["contact_id"])


async def log_received_introduction(w: Writer, request: sa.RowMapping, contact_id: UUID) -> None:
    """Log an accepted introduction on the asker's side, with the contact it is about."""
    c = tables.contacts.c
    alive = await w.conn.scalar(
        sa.select(c.id).where(c.owner_id == w.owner_id, c.id == contact_id, c.cl % 2 == 1)
    )
    if alive is None or request["interaction_id"] is not None:
        return
    colleague = await w.conn.scalar(
        sa.select(_l.peer_name).where(_l.owner_id == w.owner_id, _l.id == request["link_id"])
    )
    interaction_id = introduction_interaction_id(request["id"], w.owner_id)
    await log_interaction(
        w,
        interaction_id,
        {
            "contactIds": [contact_id],
            "kind": "INTRODUCTION",
            "occurredAt": w.now,
            "summary": f"{colleague} introduced you ({request['whom']})"[:500],
            "body": request["response"],
            "received": f"An introduction from {colleague}, a colleague"[:500],
        },
    )
    r = _requests.c
    await w.conn.execute(
        sa.update(_requests)
        .where(r.owner_id == w.owner_id, r.id == request["id"])
        .values(interaction_id=interaction_id)
    )


async def replay(engine: AsyncEngine, clock: Clock, owner_id: UUID) -> None:
    """Apply again the owner's steps that did not reach the other side (see the docstring)."""
    now = clock.now()
    async with engine.connect() as conn:
        pending = {
            table.name: list(
                (
                    await conn.execute(
                        sa.select(table).where(
                            table.c.owner_id == owner_id, sa.not_(table.c.peer_synced)
                        )
                    )
                )
                .mappings()
                .all()
            )
            for table in (tables.colleagues, _cards, _requests)
        }
    for row in pending["colleagues"]:
        await run_step(push_link(engine, row, now))
    for row in pending["shared_cards"]:
        await run_step(push_card(engine, row))
    for row in pending["introduction_requests"]:
        await run_step(push_request(engine, clock, row))


async def run_step(step: Awaitable[None]) -> None:
    """Run a peer step; a failure is logged and left for ``replay``, the acting side committed."""
    try:
        await step
    except Exception:
        log.exception("a colleague step did not reach the other side; it will be replayed")
