"""The worker woken by committed writes (LISTEN/NOTIFY), and planning that reads no owner
row when nobody needs it (the needs-plan mark and its partial index)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock
from notifications import backlog, planner
from notifications.sender import LogSender
from notifications.wakeup import APPLICATION_NAME
from notifications.worker import Worker
from store.engine import libpq_url
from tests.integration.notify_support import add_device, make_user, put_reminder, scheduled

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def wait_for(engine: AsyncEngine, query: str, expected: Any) -> None:
    """Poll ``query`` until it answers ``expected`` (a generous bound, not a timing assert)."""
    async with asyncio.timeout(30):
        while True:
            async with engine.connect() as conn:
                if await conn.scalar(sa.text(query)) == expected:
                    return
            await asyncio.sleep(0.05)


async def test_a_committed_write_wakes_the_worker_long_before_its_poll(
    engine: AsyncEngine, db_url: str
) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    await add_device(engine, owner, NOW, f"woken-{owner}")
    worker = Worker(
        engine=engine, sender=LogSender(), clock=FixedClock(NOW), listen_dsn=libpq_url(db_url)
    )
    stop = asyncio.Event()
    # An hour between polls: only the write's notice can bring the push out in this test.
    running = asyncio.create_task(worker.run(stop, idle_seconds=3600))
    try:
        await wait_for(
            engine,
            "SELECT count(*) FROM pg_stat_activity"
            f" WHERE datname = current_database() AND application_name = '{APPLICATION_NAME}'",
            1,
        )
        # The first pass (everyone is new) is over: nothing is left to plan.
        await wait_for(engine, "SELECT count(*) FROM planner_owners WHERE planned_at IS NULL", 0)
        assert await scheduled(engine, owner) == []

        await put_reminder(
            engine, owner, NOW, title="Call Ada", dueOn="2026-11-23", dueTime="11:30"
        )

        await wait_for(
            engine,
            f"SELECT status FROM scheduled_notifications WHERE owner_id = '{owner}'",
            "SENT",
        )
    finally:
        stop.set()
        await running
    [row] = await scheduled(engine, owner)
    assert (row["title"], row["sent_at"]) == ("Call Ada", NOW)


def scans(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from scans(child)


def owner_rows_read(plan: dict[str, Any]) -> int:
    """Rows of sync_owners and planner_owners a statement read (kept or filtered out)."""
    return sum(
        int(node["Actual Rows"] * node["Actual Loops"])
        + int(node.get("Rows Removed by Filter", 0))
        + int(node.get("Rows Removed by Index Recheck", 0))
        for node in scans(plan["Plan"])
        if node.get("Relation Name") in ("sync_owners", "planner_owners")
    )


async def test_an_idle_planning_pass_reads_no_owner_row(engine: AsyncEngine) -> None:
    # Enough owners that reading them all would show: 3,000 in bulk, as the benchmark makes.
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO users (id, email, time_zone, created_at, updated_at)"
                " SELECT gen_random_uuid(), 'idle+' || n || '@example.com', 'UTC', :now, :now"
                " FROM generate_series(1, 3000) AS n"
            ).bindparams(sa.bindparam("now", NOW, type_=sa.DateTime(timezone=True)))
        )
        await conn.execute(
            sa.text(
                "INSERT INTO sync_owners (owner_id, version, hlc, epoch, needs_plan)"
                " SELECT id, 1, '', gen_random_uuid(), true FROM users"
            )
        )
    owner = await make_user(engine, NOW, time_zone="UTC")
    await put_reminder(engine, owner, NOW, title="Dentist", dueOn="2026-11-25")
    assert await planner.plan_all(engine, NOW) == (3001, 1)
    async with engine.begin() as conn:
        # As autovacuum would: the statistics say how few owners are marked.
        await conn.execute(sa.text("ANALYZE sync_owners, planner_owners"))

    # Ten minutes on, nobody wrote: neither statement of a pass reads an owner row.
    later = NOW + timedelta(minutes=10)
    marked, stale = backlog.needing_plan(later, lock=True)
    async with engine.begin() as conn:
        for statement, params in ((marked, {"limit": 500}), (stale, {"taken": [], "limit": 500})):
            explain = sa.text("EXPLAIN (ANALYZE, FORMAT JSON) " + statement.text).bindparams(
                *statement._bindparams.values()
            )
            [plan] = await conn.scalar(explain, params)  # json, decoded by asyncpg
            assert owner_rows_read(plan) == 0, json.dumps(plan, indent=1)
    assert await planner.plan_due(engine, later) == 0

    # A write marks its owner, and only them; their plan clears the mark.
    await put_reminder(engine, owner, later, title="Gym", dueOn="2026-11-24")
    assert await backlog.owners_to_plan(engine, later, None) == [owner]
    assert await planner.plan_due(engine, later) == 1
    assert await backlog.owners_to_plan(engine, later, None) == []
    assert [r["title"] for r in await scheduled(engine, owner)] == ["Gym", "Dentist"]
    # An hour after their plan, owners are planned again (the window moves on): the others
    # now, this owner (planned ten minutes later) not yet.
    due_again = await backlog.owners_to_plan(engine, NOW + timedelta(hours=1, minutes=1), None)
    assert len(due_again) == 3000
    assert owner not in due_again
