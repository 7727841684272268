"""Registering push tokens: a token has exactly one owner, the last to register it, even when
two accounts register it at the same moment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store import notifications as store
from store import tables
from sync.entity import new_id
from tests.integration.notify_support import make_user

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def register(conn: AsyncConnection, owner: UUID, token: str) -> sa.RowMapping:
    return await store.register_device(
        conn,
        owner_id=owner,
        device_id=new_id(),
        token=token,
        platform="ios",
        app_version=None,
        locale=None,
        now=NOW,
    )


async def owners_of(engine: AsyncEngine, token: str) -> list[UUID]:
    d = tables.devices.c
    async with engine.connect() as conn:
        return list((await conn.scalars(sa.select(d.owner_id).where(d.token == token))).all())


async def wait_for_a_lock_wait(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        for _ in range(500):
            waiting = await conn.scalar(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
            if waiting:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the second registration never waited for the first")


async def test_a_token_registered_by_two_accounts_at_once_ends_with_the_later(
    engine: AsyncEngine,
) -> None:
    alice, bob = await make_user(engine, NOW), await make_user(engine, NOW)
    async with engine.connect() as first:
        # Alice's registration is in flight (not committed) when Bob's starts.
        await first.begin()
        alices = await register(first, alice, "shared-token")

        async def register_bob() -> sa.RowMapping:
            async with engine.begin() as conn:
                return await register(conn, bob, "shared-token")

        bobs = asyncio.create_task(register_bob())
        await wait_for_a_lock_wait(engine)
        await first.commit()
    row = await bobs
    assert (row["owner_id"], row["token"]) == (bob, "shared-token")
    assert row["id"] != alices["id"]  # Bob is not handed Alice's device
    assert await owners_of(engine, "shared-token") == [bob]


async def test_many_accounts_registering_one_token_at_once_leave_one_owner(
    engine: AsyncEngine,
) -> None:
    owners = [await make_user(engine, NOW) for _ in range(8)]

    async def register_as(owner: UUID) -> sa.RowMapping:
        async with engine.begin() as conn:
            return await register(conn, owner, "crowded-token")

    rows = await asyncio.gather(*(register_as(owner) for owner in owners))
    # Each caller got a device of its own; one of them owns the token now.
    assert [row["owner_id"] for row in rows] == owners
    assert len({row["id"] for row in rows}) == len(owners)
    assert len(await owners_of(engine, "crowded-token")) == 1


async def test_a_database_error_names_no_parameters(engine: AsyncEngine) -> None:
    # The error reaches logs (masked errors are logged with their traceback): the token in
    # it must not. NUL is refused by the API first; here it reaches the database.
    owner = await make_user(engine, NOW)
    secret = "secret-token-0123456789-abcdefghij"
    with pytest.raises(DBAPIError) as failure:
        async with engine.begin() as conn:
            await register(conn, owner, secret + "\x00")
    assert "parameters" in str(failure.value)  # SQLAlchemy says they were hidden
    assert secret not in str(failure.value)
    assert await owners_of(engine, secret) == []
