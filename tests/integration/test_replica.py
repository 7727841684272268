"""Pulled pages and exports from a real streaming replica, and from the primary while it lags.

A client must read its own writes: a pull reads the page on the replica only when the
replica has replayed every commit the primary had for that owner when the pull began; an
export, only when it has replayed the primary's WAL position at the download's start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from model.clock import SystemClock
from store import migrate
from store.engine import create_engine
from store.replica import READS, attach_replica
from sync.contact import create_contact
from sync.entity import new_id
from sync.pull import collect_changes
from sync.writer import open_writer
from tests.api.graphql import create_contact as create_contact_over_http
from tests.api.graphql import data, sign_up
from tests.api.test_export import download, read_json, request_export
from tests.api.test_sync_api import PULL
from tests.conftest import make_settings, serve
from tests.integration.sync_support import changes_of, make_owner
from tests.streaming import BIN, Pair, streaming_pair

pytestmark = pytest.mark.skipif(
    not (BIN / "pg_basebackup").exists(), reason=f"no PostgreSQL binaries in {BIN}"
)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with streaming_pair() as pair:
        yield pair


@pytest.fixture(scope="module")
async def engines(pair: Pair) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    primary = create_engine(pair.primary_url, pool_size=2)
    replica = create_engine(pair.replica_url, pool_size=2)
    await migrate.upgrade(primary)
    attach_replica(primary, replica)
    yield primary, replica
    await primary.dispose()
    await replica.dispose()


async def caught_up(primary: AsyncEngine, replica: AsyncEngine) -> None:
    async with primary.connect() as conn:
        lsn = await conn.scalar(sa.text("SELECT CAST(pg_current_wal_lsn() AS text)"))
    async with replica.connect() as conn:
        replayed = sa.text("SELECT pg_last_wal_replay_lsn() >= CAST(CAST(:lsn AS text) AS pg_lsn)")
        # Polling the server: nothing in this process could set an event.
        while not await conn.scalar(replayed, {"lsn": lsn}):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def replay_delayed(replica: AsyncEngine, delay: str) -> None:
    async with replica.connect() as conn:
        setting = sa.text("SHOW recovery_min_apply_delay")
        while await conn.scalar(setting) != delay:  # noqa: ASYNC110 (the server's setting)
            await asyncio.sleep(0.02)


async def add_contact(engine: AsyncEngine, owner: object, name: str) -> str:
    contact = new_id()
    async with open_writer(engine, owner, SystemClock()) as w:  # type: ignore[arg-type]
        await create_contact(w, contact, {"firstName": name})
    return str(contact)


def count(source: str) -> float:
    return READS.labels(source)._value.get()


async def test_pages_come_from_the_replica_and_from_the_primary_while_it_lags(
    engines: tuple[AsyncEngine, AsyncEngine], pair: Pair
) -> None:
    primary, replica = engines
    ada, grace = await make_owner(primary), await make_owner(primary)
    await add_contact(primary, ada, "Ada")
    first = await add_contact(primary, grace, "Grace")
    await caught_up(primary, replica)

    before = count("replica"), count("primary")
    page = await collect_changes(primary, owner_id=grace, client_id="phone", cursor=None, limit=50)
    assert [c.id for c in changes_of(page)] == [first]
    assert (count("replica"), count("primary")) == (before[0] + 1, before[1])

    pair.delay_replay("1h")
    await replay_delayed(replica, "1h")
    try:
        # Grace writes again; the replica holds the commit back. Her next pull reads it anyway.
        second = await add_contact(primary, grace, "Grace Hopper")
        again = await collect_changes(
            primary, owner_id=grace, client_id="phone", cursor=page.cursor, limit=50
        )
        assert [c.id for c in changes_of(again)] == [second]
        assert (count("replica"), count("primary")) == (before[0] + 1, before[1] + 1)
        async with replica.connect() as conn:
            on_replica = sa.text("SELECT count(*) FROM contacts WHERE id = CAST(:id AS uuid)")
            assert await conn.scalar(on_replica, {"id": second}) == 0  # it really lags

        # Ada wrote nothing since the replica replayed her: her pages still come from it.
        hers = await collect_changes(primary, owner_id=ada, client_id="pc", cursor=None, limit=50)
        assert [c.fields["firstName"] for c in changes_of(hers) if c.fields] == ["Ada"]
        assert count("replica") == before[0] + 2
    finally:
        pair.delay_replay("0")


RECONNECT = "query Reconnect { reconnectSuggestions(first: 5) { contact { id } } }"


async def test_over_http_insights_and_pulls_read_the_replica_until_it_lags_behind_a_write(
    engines: tuple[AsyncEngine, AsyncEngine], pair: Pair, tmp_path: Path
) -> None:
    primary, replica = engines
    settings = make_settings(tmp_path, database={"replica_url": pair.replica_url})
    app = create_app(settings, database_url=pair.primary_url)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        account = await sign_up(http)
        await create_contact_over_http(http, account.token, firstName="Ada")
        await caught_up(primary, replica)
        before = count("replica"), count("primary")
        await data(http, RECONNECT, token=account.token)
        pulled = (
            await data(
                http, PULL, {"client": "tablet", "cursor": None, "version": 1}, account.token
            )
        )["syncPull"]
        assert len(pulled["changes"]) == 1
        assert (count("replica"), count("primary")) == (before[0] + 2, before[1])

        pair.delay_replay("1h")
        await replay_delayed(replica, "1h")
        try:
            await create_contact_over_http(http, account.token, firstName="Grace")
            await data(http, RECONNECT, token=account.token)
            again = (
                await data(
                    http,
                    PULL,
                    {"client": "tablet", "cursor": pulled["cursor"], "version": 1},
                    account.token,
                )
            )["syncPull"]
            assert [c["fields"]["firstName"] for c in again["changes"]] == ["Grace"]
            assert (count("replica"), count("primary")) == (before[0] + 2, before[1] + 2)
        finally:
            pair.delay_replay("0")


UPDATE_ME = "mutation($n: String!) { updateMe(input: {displayName: $n}) { __typename } }"


async def test_over_http_exports_read_the_replica_once_it_has_replayed_the_primary(
    engines: tuple[AsyncEngine, AsyncEngine], pair: Pair, tmp_path: Path
) -> None:
    primary, replica = engines
    settings = make_settings(tmp_path, database={"replica_url": pair.replica_url})
    app = create_app(settings, database_url=pair.primary_url)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        account = await sign_up(http)
        await create_contact_over_http(http, account.token, firstName="Ada")
        await caught_up(primary, replica)
        before = count("replica"), count("primary")
        archive = await download(http, await request_export(http, account.token))
        assert [c["first_name"] for c in read_json(archive, "contacts.json")] == ["Ada"]
        assert (count("replica"), count("primary")) == (before[0] + 1, before[1])

        pair.delay_replay("1h")
        await replay_delayed(replica, "1h")
        try:
            # A write that does not move the owner's version (settings, as the worker's
            # delivery history): a check of versions would read the lagging replica.
            await data(http, UPDATE_ME, {"n": "Ada's account"}, account.token)
            archive = await download(http, await request_export(http, account.token))
            assert read_json(archive, "settings.json")[0]["display_name"] == "Ada's account"
            assert (count("replica"), count("primary")) == (before[0] + 1, before[1] + 1)
            # And one that does.
            grace = await create_contact_over_http(http, account.token, firstName="Grace")
            archive = await download(http, await request_export(http, account.token))
            names = sorted(c["first_name"] for c in read_json(archive, "contacts.json"))
            assert names == ["Ada", "Grace"]
            assert (count("replica"), count("primary")) == (before[0] + 1, before[1] + 2)
            async with replica.connect() as conn:
                on_replica = sa.text("SELECT count(*) FROM contacts WHERE id = CAST(:id AS uuid)")
                assert await conn.scalar(on_replica, {"id": grace["id"]}) == 0  # it really lags
        finally:
            pair.delay_replay("0")
