"""Migrations: from empty to head, no drift from the models, and a round trip holding data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock, SystemClock
from store import migrate
from store.accounts import insert_user
from store.engine import create_engine
from store.tables import metadata
from sync.contact import create_contact
from sync.entity import new_id
from sync.push import Status
from sync.writer import open_writer
from tests.conftest import cloned_database
from tests.integration.sync_support import NOW, Replica, clock_at, make_owner


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def test_upgrade_head_builds_every_table_on_an_empty_database(server_url: str) -> None:
    async with cloned_database(server_url, "template0") as url:
        engine = create_engine(url, pool_size=1)
        try:
            assert await _tables(engine) == set()
            await migrate.upgrade(engine)
            assert await _tables(engine) == set(metadata.tables) | {"alembic_version"}
        finally:
            await engine.dispose()


async def test_models_and_migrations_do_not_drift(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), metadata
            )
        )
        # The same check the `alembic check` command makes.
        await conn.run_sync(lambda c: command.check(migrate.alembic_config(c)))
    assert diff == []


async def test_downgrade_and_upgrade_round_trip_with_data(engine: AsyncEngine) -> None:
    owner = new_id()
    async with engine.begin() as conn:
        await insert_user(conn, user_id=owner, now=datetime.now(UTC), email="round@trip.example")
    async with open_writer(engine, owner, SystemClock()) as w:
        await create_contact(w, new_id(), {"firstName": "Grace"})

    await migrate.downgrade(engine, "base")
    assert await _tables(engine) == {"alembic_version"}
    await migrate.upgrade(engine)
    assert await _tables(engine) == set(metadata.tables) | {"alembic_version"}
    # The schema works again after the round trip.
    async with engine.begin() as conn:
        await insert_user(conn, user_id=owner, now=datetime.now(UTC), email="round@trip.example")
    async with open_writer(engine, owner, SystemClock()) as w:
        row = await create_contact(w, new_id(), {"firstName": "Grace"})
    assert row["first_name"] == "Grace"


async def test_0006_gives_deliveries_their_platform_and_lets_devices_go(
    engine: AsyncEngine,
) -> None:
    owner, device, notification, delivery = new_id(), new_id(), new_id(), new_id()
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await insert_user(conn, user_id=owner, now=now, email="deliveries@trip.example")
    await migrate.downgrade(engine, "0005")
    ids = {"o": owner, "v": device, "n": notification, "d": delivery, "now": now}
    async with engine.begin() as conn:
        for statement in (
            "INSERT INTO devices (owner_id, id, token, platform, created_at, updated_at)"
            " VALUES (:o, :v, 'migrated-token', 'ios', :now, :now)",
            "INSERT INTO scheduled_notifications (owner_id, id, kind, subject_id, occurrence,"
            " lead_days, local_date, send_at, due_at, status, title, body, created_at,"
            " updated_at) VALUES (:o, :n, 'REMINDER', :n, '2026-11-23', 0, '2026-11-23', :now,"
            " :now, 'SENT', 'Call Ada', '', :now, :now)",
            "INSERT INTO notification_deliveries (owner_id, id, notification_id, device_id,"
            " outcome, attempted_at) VALUES (:o, :d, :n, :v, 'DELIVERED', :now)",
        ):
            await conn.execute(sa.text(statement), ids)
    await migrate.upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM devices WHERE id = :v"), ids)
        platform = await conn.scalar(
            sa.text("SELECT platform FROM notification_deliveries WHERE id = :d"), ids
        )
    assert platform == "ios"  # copied, and kept after the device went


async def test_0007_gives_every_owner_a_planner_row(engine: AsyncEngine) -> None:
    owner = new_id()
    async with engine.begin() as conn:
        await insert_user(conn, user_id=owner, now=datetime.now(UTC), email="planner@trip.example")
    await migrate.downgrade(engine, "0006")
    count = sa.text("SELECT count(*) FROM planner_owners WHERE owner_id = :o")
    async with engine.begin() as conn:
        # An owner from before 0007, never planned: no row, so no pass could claim them.
        await conn.execute(sa.text("DELETE FROM planner_owners WHERE owner_id = :o"), {"o": owner})
        assert await conn.scalar(count, {"o": owner}) == 0
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        assert await conn.scalar(count, {"o": owner}) == 1


async def _partial_indexes(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE schemaname = 'public' AND indexdef LIKE '% WHERE %'"
            )
        )
        return {str(name): str(definition) for name, definition in rows.all()}


async def test_partial_indexes_have_the_models_predicates(
    engine: AsyncEngine, server_url: str
) -> None:
    # `alembic check` does not compare the WHERE of a partial index: build the models' schema
    # directly and compare what PostgreSQL made of each.
    async with cloned_database(server_url, "template0") as url:
        built = create_engine(url, pool_size=1)
        try:
            async with built.begin() as conn:
                await conn.run_sync(metadata.create_all)
            expected = await _partial_indexes(built)
        finally:
            await built.dispose()
    assert expected
    assert await _partial_indexes(engine) == expected


async def test_0009_lets_a_later_create_restore_a_tag_deleted_before_it(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    device = Replica(f"d-{owner}")
    old, kept = new_id(), new_id()
    clock = FixedClock(NOW)
    for tag_id, name in ((old, "Mentors"), (kept, "Investors")):
        put = {"id": str(tag_id), "fields": {"name": name}, "hlc": clock_at(NOW, "d")}
        await device.push(engine, owner, clock, ("tag.put", put))
        await device.push(engine, owner, clock, ("tag.delete", {"id": str(tag_id), "cl": 2}))
    # Deleted before this release: 0008 knew no delete clocks.
    await migrate.downgrade(engine, "0008")
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        stamp = await conn.scalar(
            sa.text("SELECT field_hlc ->> '@deleted' FROM tags WHERE owner_id = :o AND id = :i"),
            {"o": owner, "i": old},
        )
        seen = await conn.scalar(
            sa.text("SELECT hlc FROM sync_owners WHERE owner_id = :o"), {"o": owner}
        )
    assert stamp is not None
    assert stamp > seen
    later = datetime.now(UTC) + timedelta(minutes=1)
    earlier = NOW + timedelta(days=1)  # made offline before the release, pushed after it
    result = await device.push(
        engine,
        owner,
        FixedClock(later),
        (
            "tag.put",
            {"id": str(new_id()), "fields": {"name": "mentors"}, "hlc": clock_at(later, "d")},
        ),
        (
            "tag.put",
            {"id": str(new_id()), "fields": {"name": "investors"}, "hlc": clock_at(earlier, "d")},
        ),
    )
    assert [r.status for r in result.results] == [Status.APPLIED, Status.APPLIED]
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT id, cl FROM tags WHERE owner_id = :o"), {"o": owner}
        )
        lengths = {row.id: row.cl for row in rows}
    assert lengths == {old: 3, kept: 2}
