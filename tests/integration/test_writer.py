"""The write path against a real PostgreSQL: versions, merges, causal length, notices."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock, SystemClock, to_ms
from model.errors import NotFound
from store import tables
from store.accounts import insert_user
from sync import contact, interaction
from sync.entity import CONTACT, new_id
from sync.hlc import Hlc
from sync.writer import CHANNEL, begin_write, open_writer
from tests.conftest import libpq_url

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def make_owner(engine: AsyncEngine, time_zone: str = "UTC") -> UUID:
    owner = new_id()
    async with engine.begin() as conn:
        await insert_user(
            conn, user_id=owner, now=NOW, email=f"{owner}@example.com", time_zone=time_zone
        )
    return owner


async def read_contact(engine: AsyncEngine, owner: UUID, contact_id: UUID) -> sa.RowMapping:
    c = tables.contacts.c
    async with engine.connect() as conn:
        query = sa.select(tables.contacts).where(c.owner_id == owner, c.id == contact_id)
        return (await conn.execute(query)).mappings().one()


def device_clock(moment: datetime, node: str, counter: int = 0) -> str:
    return Hlc(to_ms(moment), counter, node).pack()


async def test_concurrent_writers_of_one_owner_get_distinct_commit_ordered_versions(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    first_bumped = asyncio.Event()
    commits: list[int] = []

    async def first() -> None:
        async with engine.begin() as conn:
            w = await begin_write(conn, owner, SystemClock())
            first_bumped.set()
            # Hold the owner's version row while the second writer tries to bump it.
            await asyncio.sleep(0.3)
            await contact.create_contact(w, new_id(), {"firstName": "First"})
            await w.finish()
            commits.append(w.version)

    async def second() -> None:
        await first_bumped.wait()
        async with engine.begin() as conn:
            w = await begin_write(conn, owner, SystemClock())
            await contact.create_contact(w, new_id(), {"firstName": "Second"})
            await w.finish()
            commits.append(w.version)

    await asyncio.gather(first(), second())
    # Distinct versions, and the order they committed in is the order of the versions: a
    # reader that saw version 2 can never later find a row stamped 1.
    assert commits == [1, 2]
    c = tables.contacts.c
    async with engine.connect() as conn:
        stamped = dict(
            (
                await conn.execute(
                    sa.select(c.first_name, c.server_version).where(c.owner_id == owner)
                )
            ).all()
        )
    assert stamped == {"First": 1, "Second": 2}


async def test_another_owner_is_not_held_up(engine: AsyncEngine) -> None:
    alice, bob = await make_owner(engine), await make_owner(engine)
    async with engine.begin() as conn:
        await begin_write(conn, alice, SystemClock())
        # Bob's writer must not wait for Alice's open transaction.
        async with asyncio.timeout(5), open_writer(engine, bob, SystemClock()) as w:
            await contact.create_contact(w, new_id(), {"firstName": "Bob's friend"})


async def test_a_rolled_back_write_leaves_nothing(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()

    async def write_then_fail() -> None:
        async with open_writer(engine, owner, SystemClock()) as w:
            await contact.create_contact(w, contact_id, {"firstName": "Ghost"})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await write_then_fail()
    c = tables.contacts.c
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).where(c.owner_id == owner)) == 0
        version = await conn.scalar(
            sa.select(tables.sync_owners.c.version).where(tables.sync_owners.c.owner_id == owner)
        )
    assert version == 0


async def test_a_delete_then_a_stale_edit_leaves_the_row_deleted(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    async with open_writer(engine, owner, FixedClock(NOW)) as w:
        await contact.create_contact(w, contact_id, {"firstName": "Ada"})
    async with open_writer(engine, owner, FixedClock(NOW + timedelta(minutes=1))) as w:
        await contact.delete_contact(w, contact_id)
    # A phone that never saw the delete edits the name with its own (older) clock.
    stale = device_clock(NOW + timedelta(seconds=30), "phone")
    async with open_writer(engine, owner, FixedClock(NOW + timedelta(minutes=2))) as w:
        await w.put(CONTACT, {"id": contact_id}, {"company": "Acme"}, clocks={"company": stale})
    row = await read_contact(engine, owner, contact_id)
    assert row["cl"] == 2
    assert row["company"] == "Acme"  # the edit merged, but it did not bring the row back


async def test_restore_beats_the_delete_it_saw(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    async with open_writer(engine, owner, SystemClock()) as w:
        await contact.create_contact(w, contact_id, {"firstName": "Ada"})
    async with open_writer(engine, owner, SystemClock()) as w:
        await contact.delete_contact(w, contact_id)
    async with open_writer(engine, owner, SystemClock()) as w:
        await contact.restore_contact(w, contact_id)
    # A second device's delete made concurrently with the first (length 2) arrives late.
    async with open_writer(engine, owner, SystemClock()) as w:
        _, moved = await w.set_alive(CONTACT, {"id": contact_id}, alive=False, cl=2)
    assert not moved
    assert (await read_contact(engine, owner, contact_id))["cl"] == 3


@pytest.mark.parametrize("order", ["older first", "newer first"])
async def test_fields_merge_by_clock_whatever_the_arrival_order(
    engine: AsyncEngine, order: str
) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    async with open_writer(engine, owner, FixedClock(NOW)) as w:
        await contact.create_contact(w, contact_id, {"firstName": "Ada"})
    older = ({"company": "Old Co"}, {"company": device_clock(NOW + timedelta(minutes=1), "phone")})
    newer = ({"company": "New Co"}, {"company": device_clock(NOW + timedelta(minutes=2), "tablet")})
    edits = [older, newer] if order == "older first" else [newer, older]
    for values, clocks in edits:
        async with open_writer(engine, owner, FixedClock(NOW + timedelta(minutes=3))) as w:
            await w.put(CONTACT, {"id": contact_id}, values, clocks=clocks)
    row = await read_contact(engine, owner, contact_id)
    assert row["company"] == "New Co"
    assert row["field_hlc"]["company"] == newer[1]["company"]


async def test_an_online_write_beats_a_device_clock_running_ahead(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    async with open_writer(engine, owner, FixedClock(NOW)) as w:
        await contact.create_contact(w, contact_id, {"firstName": "Ada"})
    ahead = device_clock(NOW + timedelta(minutes=4), "fast-phone")
    async with open_writer(engine, owner, FixedClock(NOW)) as w:
        await w.put(CONTACT, {"id": contact_id}, {"title": "CTO"}, clocks={"title": ahead})
    # The web edits the same field a second later by the wall clock: it saw the phone's value,
    # so its write must win even though the phone's clock reads later.
    async with open_writer(engine, owner, FixedClock(NOW + timedelta(seconds=1))) as w:
        await contact.update_contact(w, contact_id, {"title": "CEO"})
    row = await read_contact(engine, owner, contact_id)
    assert row["title"] == "CEO"
    assert row["field_hlc"]["title"] > ahead


async def test_only_changed_rows_get_the_new_version(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    a, b = new_id(), new_id()
    async with open_writer(engine, owner, SystemClock()) as w:
        await contact.create_contact(w, a, {"firstName": "A"})
        await contact.create_contact(w, b, {"firstName": "B"})
    async with open_writer(engine, owner, SystemClock()) as w:
        await contact.update_contact(w, a, {"company": "Acme"})
    assert (await read_contact(engine, owner, a))["server_version"] == 2
    assert (await read_contact(engine, owner, b))["server_version"] == 1


async def test_updating_a_deleted_or_unknown_contact_is_not_found(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    async with open_writer(engine, owner, SystemClock()) as w:
        await contact.create_contact(w, contact_id, {"firstName": "A"})
        await contact.delete_contact(w, contact_id)
    for target in (contact_id, new_id()):
        with pytest.raises(NotFound):
            async with open_writer(engine, owner, SystemClock()) as w:
                await contact.update_contact(w, target, {"company": "Acme"})


async def test_a_commit_notifies_listeners_with_owner_and_version(
    engine: AsyncEngine, db_url: str
) -> None:
    owner = await make_owner(engine)
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(libpq_url(db_url))
    await listener.add_listener(CHANNEL, lambda *args: received.put_nowait(args[3]))
    try:
        async with open_writer(engine, owner, SystemClock()) as w:
            await contact.create_contact(w, new_id(), {"firstName": "A"})
            await asyncio.sleep(0.1)
            assert received.empty()  # nothing is announced before the commit
        payload = json.loads(await asyncio.wait_for(received.get(), 5))
    finally:
        await listener.close()
    assert payload["owner"] == str(owner)
    assert payload["version"] == 1


async def test_logging_an_interaction_resets_the_follow_up(engine: AsyncEngine) -> None:
    owner = await make_owner(engine, time_zone="Europe/Berlin")
    contact_id = new_id()
    async with open_writer(engine, owner, FixedClock(NOW)) as w:
        created = await contact.create_contact(w, contact_id, {"firstName": "A", "cadenceDays": 30})
    # Thirty local days from 13:00 CET on Mar 1 is 13:00 CEST on Mar 31 (Berlin springs
    # forward on Mar 29): an hour less in UTC.
    assert created["next_follow_up_at"] == NOW + timedelta(days=30, hours=-1)
    met = NOW + timedelta(days=10)
    async with open_writer(engine, owner, FixedClock(met)) as w:
        await interaction.log_interaction(
            w, new_id(), {"contactIds": [contact_id], "occurredAt": met, "summary": "Lunch"}
        )
    row = await read_contact(engine, owner, contact_id)
    assert row["last_interaction_at"] == met
    assert row["next_follow_up_at"] == met + timedelta(days=30, hours=-1)
    # A snooze later than the cadence moves the follow-up to local midnight of that day.
    async with open_writer(engine, owner, FixedClock(met)) as w:
        await contact.update_contact(w, contact_id, {"snoozedUntil": "2026-06-01"})
    row = await read_contact(engine, owner, contact_id)
    assert row["next_follow_up_at"] == datetime(2026, 5, 31, 22, 0, tzinfo=UTC)  # CEST midnight


async def test_a_cadence_counts_the_owners_local_days(engine: AsyncEngine) -> None:
    owner = await make_owner(engine, time_zone="Europe/Berlin")
    contact_id = new_id()
    late_call = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)  # 23:30 on Mar 1 in Berlin
    async with open_writer(engine, owner, FixedClock(NOW)) as w:
        await contact.create_contact(w, contact_id, {"firstName": "A", "cadenceDays": 30})
        await interaction.log_interaction(
            w, new_id(), {"contactIds": [contact_id], "occurredAt": late_call, "summary": "x"}
        )
    row = await read_contact(engine, owner, contact_id)
    # Mar 31 in Berlin (23:30 CEST), not Apr 1 as thirty UTC days would have it.
    assert row["next_follow_up_at"] == datetime(2026, 3, 31, 21, 30, tzinfo=UTC)


async def test_deleting_an_interaction_recomputes_the_last_one(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact_id, early, late = new_id(), new_id(), new_id()
    async with open_writer(engine, owner, FixedClock(NOW)) as w:
        await contact.create_contact(w, contact_id, {"firstName": "A"})
        for iid, days in ((early, 1), (late, 5)):
            await interaction.log_interaction(
                w,
                iid,
                {
                    "contactIds": [contact_id],
                    "occurredAt": NOW + timedelta(days=days),
                    "summary": "x",
                },
            )
    async with open_writer(engine, owner, FixedClock(NOW)) as w:
        await interaction.set_interaction_alive(w, late, alive=False)
    assert (await read_contact(engine, owner, contact_id))[
        "last_interaction_at"
    ] == NOW + timedelta(days=1)
    async with open_writer(engine, owner, FixedClock(NOW)) as w:
        await interaction.set_interaction_alive(w, late, alive=True)
    assert (await read_contact(engine, owner, contact_id))[
        "last_interaction_at"
    ] == NOW + timedelta(days=5)
