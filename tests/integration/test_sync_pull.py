"""Pull: consistent pages, a cursor that never skips or goes back, resets, acknowledgements."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock, SystemClock
from store import tables
from sync import contact, importer
from sync.cursor import InvalidCursor
from sync.entity import CONTACT, new_id
from sync.pull import collect_changes
from sync.tombstone import purge_tombstones
from sync.writer import begin_write, open_writer
from tests.integration.sync_support import NOW, Replica, changes_of, clock_at, make_owner

CLOCK = FixedClock(NOW + timedelta(hours=1))


async def server_rows(engine: AsyncEngine, owner: UUID) -> dict[str, tuple[int, int]]:
    """Every contact's (server_version, cl) as the database holds it."""
    c = tables.contacts.c
    async with engine.connect() as conn:
        rows = (
            await conn.execute(sa.select(c.id, c.server_version, c.cl).where(c.owner_id == owner))
        ).all()
    return {str(r.id): (r.server_version, r.cl) for r in rows}


def replica_rows(replica: Replica) -> dict[str, tuple[int, int]]:
    return {
        key: (ch.server_version, ch.cl)
        for (kind, key), ch in replica.rows.items()
        if kind == "contact"
    }


async def test_a_first_pull_pages_everything_alive_and_skips_tombstones(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    ids = [new_id() for _ in range(7)]
    async with open_writer(engine, owner, CLOCK) as w:
        for n, cid in enumerate(ids):
            await contact.create_contact(
                w, cid, {"firstName": f"P{n}", "birthday": {"month": 2, "day": 29}}
            )
        await contact.delete_contact(w, ids[0])
    phone = Replica("phone")
    pages = await phone.pull_all(engine, owner, limit=3)
    assert pages == 2
    alive = phone.alive("contact")
    assert set(alive) == {str(i) for i in ids[1:]}
    sample = alive[str(ids[1])]
    assert sample["firstName"] == "P1"
    assert sample["birthday"] == {"month": 2, "day": 29, "year": None}
    held = phone.rows[("contact", str(ids[1]))]
    assert set(held.clocks) >= {"firstName", "birthday"}
    assert "nextFollowUpAt" in held.derived


async def test_an_incremental_pull_brings_tombstones_and_changes_only(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    a, b = new_id(), new_id()
    async with open_writer(engine, owner, CLOCK) as w:
        await contact.create_contact(w, a, {"firstName": "A"})
        await contact.create_contact(w, b, {"firstName": "B"})
    phone = Replica("phone")
    await phone.pull_all(engine, owner)
    async with open_writer(engine, owner, CLOCK) as w:
        await contact.delete_contact(w, a)
    page = await collect_changes(
        engine, owner_id=owner, client_id="phone", cursor=phone.cursor, limit=100
    )
    assert [(ch.id, ch.deleted, ch.fields) for ch in changes_of(page)] == [(str(a), True, None)]
    empty = await collect_changes(
        engine, owner_id=owner, client_id="phone", cursor=page.cursor, limit=100
    )
    assert changes_of(empty) == []
    assert empty.cursor == page.cursor


async def test_a_pull_racing_two_writers_never_skips_a_change(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    ids = [new_id() for _ in range(20)]
    async with open_writer(engine, owner, SystemClock()) as w:
        for cid in ids:
            await contact.create_contact(w, cid, {"firstName": "x"})
    phone = Replica("phone")
    done = asyncio.Event()

    async def writer(offset: int) -> None:
        for round_ in range(15):
            async with open_writer(engine, owner, SystemClock()) as w:
                for cid in ids[offset::2]:
                    await contact.update_contact(w, cid, {"company": f"round {round_}"})
                # Hold the version row a little so pulls run while a writer is open.
                await asyncio.sleep(0.005)

    async def puller() -> None:
        while not done.is_set():
            await phone.pull_all(engine, owner, limit=7)
            await asyncio.sleep(0)

    pulling = asyncio.create_task(puller())
    await asyncio.gather(writer(0), writer(1))
    done.set()
    await pulling
    await phone.pull_all(engine, owner, limit=7)
    assert replica_rows(phone) == await server_rows(engine, owner)
    assert all(ch.fields and ch.fields["company"] == "round 14" for ch in phone.rows.values())


async def test_a_rolled_back_writer_leaves_no_hole(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    a = new_id()
    phone = Replica("phone")
    await phone.pull_all(engine, owner)
    async with engine.connect() as conn:
        trans = await conn.begin()
        w = await begin_write(conn, owner, SystemClock())
        await contact.create_contact(w, new_id(), {"firstName": "never"})
        await trans.rollback()
    async with open_writer(engine, owner, SystemClock()) as w:
        await contact.create_contact(w, a, {"firstName": "kept"})
    await phone.pull_all(engine, owner)
    assert set(phone.alive("contact")) == {str(a)}


async def test_paging_ten_thousand_rows_while_writes_happen_between_pages(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    ids = [new_id() for _ in range(10_000)]
    async with open_writer(engine, owner, SystemClock()) as w:
        await importer.import_rows(
            w, CONTACT, [({"id": cid}, {"firstName": f"P{n}"}) for n, cid in enumerate(ids)]
        )
    phone = Replica("phone")
    page_no = 0
    while True:
        page = await collect_changes(
            engine, owner_id=owner, client_id="phone", cursor=phone.cursor, limit=500
        )
        phone.apply(changes_of(page))
        assert page.cursor is not None
        if phone.cursor is not None:
            assert page.cursor != phone.cursor or not changes_of(page)
        phone.cursor = page.cursor
        # Between pages, change rows already delivered and rows not yet delivered.
        async with open_writer(engine, owner, SystemClock()) as w:
            await contact.update_contact(
                w, ids[page_no * 7 % len(ids)], {"company": f"early {page_no}"}
            )
            await contact.update_contact(w, ids[-1 - page_no], {"company": f"late {page_no}"})
            if page_no % 5 == 0:
                await contact.delete_contact(w, ids[page_no * 11 % len(ids)])
        page_no += 1
        if not page.has_more:
            break
    await phone.pull_all(engine, owner)
    assert replica_rows(phone) == await server_rows(engine, owner)
    versions = [phone.rows[("contact", str(i))].server_version for i in ids]
    assert len(versions) == 10_000


async def test_the_acknowledgement_waits_for_a_page_with_the_effects(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    phone = Replica("phone")
    ids = [new_id() for _ in range(5)]
    await phone.push(
        engine,
        owner,
        CLOCK,
        *(
            (
                "contact.put",
                {"id": str(i), "fields": {"firstName": "x"}, "hlc": clock_at(NOW, "phone")},
            )
            for i in ids
        ),
    )
    first = await collect_changes(engine, owner_id=owner, client_id="phone", cursor=None, limit=2)
    assert first.has_more
    assert first.last_mutation_id is None  # this page does not hold all the effects yet
    rest = first
    while rest.has_more:
        rest = await collect_changes(
            engine, owner_id=owner, client_id="phone", cursor=rest.cursor, limit=2
        )
    assert rest.last_mutation_id == 5


async def test_an_unknown_client_gets_no_acknowledgement(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    page = await collect_changes(
        engine, owner_id=owner, client_id="new-phone", cursor=None, limit=10
    )
    assert (page.last_mutation_id, page.reset, page.has_more) == (None, False, False)


async def test_a_cursor_from_another_epoch_resets(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    phone = Replica("phone")
    await phone.pull_all(engine, owner)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(tables.sync_owners)
            .where(tables.sync_owners.c.owner_id == owner)
            .values(epoch=new_id())
        )
    page = await collect_changes(
        engine, owner_id=owner, client_id="phone", cursor=phone.cursor, limit=10
    )
    assert page.reset
    assert changes_of(page) == []


async def test_a_forged_cursor_is_refused(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    with pytest.raises(InvalidCursor):
        await collect_changes(
            engine, owner_id=owner, client_id="phone", cursor="not-a-cursor", limit=10
        )


async def test_purged_tombstones_send_old_cursors_to_reset(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    a, b, introduced = new_id(), new_id(), new_id()
    old = FixedClock(NOW - timedelta(days=200))
    async with open_writer(engine, owner, old) as w:
        await contact.create_contact(w, a, {"firstName": "A"})
        await contact.create_contact(w, b, {"firstName": "B"})
        await contact.create_contact(w, introduced, {"firstName": "I", "introducedById": str(a)})
    stale = Replica("stale")
    await stale.pull_all(engine, owner)
    async with open_writer(engine, owner, old) as w:
        await contact.delete_contact(w, a)
    fresh = Replica("fresh")
    await fresh.pull_all(engine, owner)

    counts = await purge_tombstones(engine, before=NOW - timedelta(days=180))
    assert counts == {owner: 1}
    rows = await server_rows(engine, owner)
    assert set(rows) == {str(b), str(introduced)}  # the contact A introduced survives
    # The stale device never saw the delete: it must start again. The fresh one saw it.
    page = await collect_changes(
        engine, owner_id=owner, client_id="stale", cursor=stale.cursor, limit=10
    )
    assert page.reset
    await stale.pull_all(engine, owner)
    assert set(stale.alive("contact")) == {str(b), str(introduced)}
    ok = await collect_changes(
        engine, owner_id=owner, client_id="fresh", cursor=fresh.cursor, limit=10
    )
    assert not ok.reset
