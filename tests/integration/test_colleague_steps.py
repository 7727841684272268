"""The other side's steps (sync/colleague_peer.py) are idempotent: run again, they change nothing."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock
from store import tables
from sync import colleague, colleague_intro, colleague_peer
from sync.contact import create_contact
from sync.entity import new_id
from sync.writer import open_writer
from tests.integration.sync_support import NOW, make_owner


async def _linked(engine: AsyncEngine) -> tuple[UUID, UUID, UUID]:
    asker = await make_owner(engine, verified=True)
    introducer = await make_owner(engine, verified=True)
    sent = await colleague.invite_colleague(engine, asker, f"{introducer}@example.com", NOW)
    await colleague.accept_colleague(engine, introducer, sent["id"], NOW)
    return asker, introducer, sent["id"]


async def _contact(engine: AsyncEngine, clock: FixedClock, owner: UUID, name: str) -> UUID:
    async with open_writer(engine, owner, clock) as w:
        row = await create_contact(w, new_id(), {"firstName": name})
    contact_id: UUID = row["id"]
    return contact_id


async def _introductions(engine: AsyncEngine, owner: UUID) -> int:
    i = tables.interactions.c
    async with engine.connect() as conn:
        count = await conn.scalar(
            sa.select(sa.func.count()).where(i.owner_id == owner, i.kind == "INTRODUCTION")
        )
    return int(count or 0)


async def test_an_accepted_introduction_replayed_logs_once_on_each_side(
    engine: AsyncEngine,
) -> None:
    clock = FixedClock(NOW)
    asker, introducer, link_id = await _linked(engine)
    wanted = await _contact(engine, clock, asker, "Someone at Acme")
    known = await _contact(engine, clock, introducer, "Grace")
    request_id = await colleague_intro.request_introduction(
        engine, clock, asker, link_id=link_id, whom="Someone at Acme", note=None, contact_id=wanted
    )
    await colleague_intro.accept_introduction(
        engine,
        clock,
        introducer,
        request_id=request_id,
        contact_id=known,
        share_card=False,
        note=None,
    )
    r = tables.introduction_requests.c
    async with engine.connect() as conn:
        decided = (
            (
                await conn.execute(
                    sa.select(tables.introduction_requests).where(
                        r.owner_id == introducer, r.id == request_id
                    )
                )
            )
            .mappings()
            .one()
        )
    assert decided["peer_synced"] is True
    # The step again, directly and through a replay of a row marked unsynced: nothing changes.
    await colleague_peer.push_request(engine, clock, decided)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(tables.introduction_requests)
            .where(r.owner_id == introducer, r.id == request_id)
            .values(peer_synced=False)
        )
    await colleague_peer.replay(engine, clock, introducer)
    assert await _introductions(engine, asker) == 1
    assert await _introductions(engine, introducer) == 1
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(r.owner_id, r.status, r.interaction_id, r.peer_synced).where(
                    r.id == request_id
                )
            )
        ).all()
    by_owner = {row.owner_id: row for row in rows}
    assert by_owner[asker].status == by_owner[introducer].status == "ACCEPTED"
    assert by_owner[asker].interaction_id == colleague_peer.introduction_interaction_id(
        request_id, asker
    )
    assert by_owner[introducer].peer_synced is True


async def test_an_end_replayed_ends_once_and_a_deleted_colleague_needs_no_step(
    engine: AsyncEngine,
) -> None:
    first, second, link_id = await _linked(engine)
    ended = await colleague.end_colleague(engine, first, link_id, NOW)
    await colleague_peer.push_link(engine, ended, NOW)
    links = tables.colleagues.c
    async with engine.connect() as conn:
        theirs = (
            (
                await conn.execute(
                    sa.select(tables.colleagues).where(
                        links.owner_id == second, links.id == link_id
                    )
                )
            )
            .mappings()
            .one()
        )
    assert (theirs["status"], theirs["ended_by"]) == ("ENDED", "COLLEAGUE")
    # The second account goes; a step towards it finds nobody and is marked done.
    async with engine.begin() as conn:
        await conn.execute(sa.delete(tables.users).where(tables.users.c.id == second))
        await conn.execute(
            sa.update(tables.colleagues)
            .where(links.owner_id == first, links.id == link_id)
            .values(peer_synced=False)
        )
    await colleague_peer.replay(engine, FixedClock(NOW), first)
    async with engine.connect() as conn:
        mine = (
            (
                await conn.execute(
                    sa.select(tables.colleagues).where(links.owner_id == first, links.id == link_id)
                )
            )
            .mappings()
            .one()
        )
    assert mine["peer_id"] is None
    assert mine["peer_synced"] is True
