"""One import per owner at a time, across API processes; other owners are never held up.

The first import is held mid-way without timing: this test locks the owner's version row, so
the import (its lock taken, its file read) waits at its first write until the test lets go.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from store.engine import create_engine
from tests.api.graphql import sign_up
from tests.api.test_import import CONNECTIONS, VCARDS, contacts, import_file
from tests.conftest import make_settings, serve

WAITING_IMPORTS = sa.text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE sync_owners%'"
)


async def test_a_second_import_for_one_owner_is_refused_while_others_run(
    http: httpx.AsyncClient, api_db: str, tmp_path: Path
) -> None:
    ada, bob = await sign_up(http), await sign_up(http)
    # Another API process on the same database: the lock lives in PostgreSQL, not in one.
    other_app = create_app(make_settings(tmp_path), database_url=api_db)
    engine = create_engine(api_db, pool_size=2)
    try:
        async with (
            serve(other_app) as other_url,
            httpx.AsyncClient(base_url=other_url, timeout=30) as other,
            engine.connect() as holder,
        ):
            await holder.execute(
                sa.text("SELECT 1 FROM sync_owners WHERE owner_id = :o FOR UPDATE"),
                {"o": uuid.UUID(ada.user_id)},
            )
            first = asyncio.create_task(import_file(http, ada.token, VCARDS))
            await wait_for_waiting_import(engine)

            refused = await import_file(other, ada.token, CONNECTIONS, "LINKEDIN_CSV")
            assert refused == {
                "__typename": "ImportInProgress",
                "message": "An import into this account is already running; send this file "
                "again when it has finished.",
            }
            # Bob's imports run meanwhile, on either process.
            assert (await import_file(other, bob.token, VCARDS))["created"] == 3
            assert (await import_file(http, bob.token, CONNECTIONS, "LINKEDIN_CSV"))[
                "__typename"
            ] == "ImportResult"

            await holder.rollback()
            assert (await first)["created"] == 3
        # The lock ended with the first import's transaction: the refused file goes in now.
        again = await import_file(http, ada.token, CONNECTIONS, "LINKEDIN_CSV")
        assert (again["__typename"], again["created"]) == ("ImportResult", 1)
        assert sorted(await contacts(http, ada)) == [
            "Ada Lovelace",
            "Alan Turing",
            "Grace Hopper",
            "Katherine Johnson",
        ]
    finally:
        await engine.dispose()


async def wait_for_waiting_import(engine: sa.ext.asyncio.AsyncEngine) -> None:
    for _ in range(3000):
        async with engine.connect() as conn:
            if await conn.scalar(WAITING_IMPORTS):
                return
        await asyncio.sleep(0.01)
    pytest.fail("the first import never reached its write")


async def test_a_refused_or_failed_import_leaves_no_lock_behind(http: httpx.AsyncClient) -> None:
    ada = await sign_up(http)
    bad = await import_file(http, ada.token, "hello\n", "VCARD")
    assert bad["__typename"] == "MalformedFile"
    assert (await import_file(http, ada.token, VCARDS))["created"] == 3
