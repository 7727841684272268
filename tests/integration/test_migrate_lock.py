"""Processes that start together migrate one at a time."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from store import migrate
from store.engine import create_engine
from tests.conftest import cloned_database


async def test_concurrent_upgrades_of_an_empty_database_both_succeed(server_url: str) -> None:
    async with cloned_database(server_url, "template0") as url:
        engines = [create_engine(url, pool_size=1) for _ in range(3)]
        try:
            await asyncio.gather(*(migrate.upgrade(engine) for engine in engines))
            async with engines[0].connect() as conn:
                version = await conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
        finally:
            for engine in engines:
                await engine.dispose()
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert version == head
