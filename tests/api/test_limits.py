"""Operation limits, caches, the printed schema, and the cost of a page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from strawberry.extensions.validation_cache import _get_validate_cache

from api.app import create_app
from model.clock import SystemClock
from schema import build_schema
from schema.limits import CACHE_SIZE
from sync import importer
from sync.entity import CONTACT, INTERACTION, new_id
from sync.writer import open_writer
from tests.api.graphql import data, post, sign_up
from tests.conftest import make_settings, serve

ROOT = Path(__file__).resolve().parents[2]
TRANSACTION_CONTROL = {"BEGIN;", "COMMIT;", "ROLLBACK;"}


@contextmanager
def count_statements(app: Starlette) -> Iterator[list[str]]:
    """Collect the SQL statements the app's engine runs inside the block.

    The compiled read path sends its statement through asyncpg without SQLAlchemy, so with it
    on, each connection checked out in the block logs asyncpg's queries too (asyncpg calls its
    loggers soon after a query, before the response can reach the client).
    """
    statements: list[str] = []
    logged: list[Any] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def log_query(query: Any) -> None:
        # SQLAlchemy's own statements reach record(); asyncpg logs only the transaction
        # control it sends for them, which these counts have always left out.
        if query.query not in TRANSACTION_CONTROL:
            statements.append(query.query)

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        record.driver_connection.add_query_logger(log_query)
        logged.append(record.driver_connection)

    engine = app.state.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    if app.state.compiled_reads is not None:
        sa.event.listen(engine.pool, "checkout", on_checkout)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
        if app.state.compiled_reads is not None:
            sa.event.remove(engine.pool, "checkout", on_checkout)
        for connection in logged:
            connection.remove_query_logger(log_query)


def test_schema_graphql_is_current() -> None:
    printed = build_schema().as_str() + "\n"
    on_disk = (ROOT / "schema.graphql").read_text()
    assert on_disk == printed, "schema.graphql is stale: run `make schema.graphql` and commit it"


async def test_a_deep_query_is_refused_before_execution(
    http: httpx.AsyncClient, api_app: Starlette
) -> None:
    account = await sign_up(http)
    nested = "id"
    for _ in range(12):
        nested = f"introducedBy {{ {nested} }}"
    query = f'{{ contact(id: "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f") {{ ... on Contact {{ {nested} }} }} }}'
    with count_statements(api_app) as statements:
        body = await post(http, query, token=account.token)
    assert body["data"] is None
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert statements == []  # not even the token was looked up: nothing executed


async def test_an_alias_bomb_is_refused_before_execution(
    http: httpx.AsyncClient, api_app: Starlette
) -> None:
    account = await sign_up(http)
    query = (
        "{ " + " ".join(f"a{n}: contacts(first: 100) {{ totalCount }}" for n in range(20)) + " }"
    )
    with count_statements(api_app) as statements:
        body = await post(http, query, token=account.token)
    assert body["data"] is None
    assert "aliases found. Allowed: 15" in body["errors"][0]["message"]
    assert statements == []


async def test_a_huge_document_is_refused_at_parse_time(http: httpx.AsyncClient) -> None:
    query = "{ me { " + " ".join(["id"] * 5000) + " } }"
    body = await post(http, query)
    assert "more than 2000 tokens" in body["errors"][0]["message"]


async def test_repeated_documents_hit_the_validation_cache(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    cache = _get_validate_cache(CACHE_SIZE)
    # devices has no compiled form: every repeat goes through Strawberry's validation. (A text
    # the compiled read path answered once skips Strawberry after that: reads/extension.py.)
    query = "{ me { id } devices { id } }"
    await data(http, query, token=account.token)
    hits = cache.cache_info().hits
    for _ in range(3):
        await data(http, query, token=account.token)
    # The rule classes are built once per schema; a per-request rule would miss every time.
    assert cache.cache_info().hits == hits + 3


async def test_unexpected_errors_are_masked_with_a_request_id(
    http: httpx.AsyncClient, api_app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    account = await sign_up(http)
    # Break the database under the app for one request: rename a table it reads.
    async with api_app.state.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE tags RENAME TO tags_away"))
    try:
        response = await http.post(
            "/graphql",
            json={"query": "{ tags { id } }"},
            headers={"Authorization": f"Bearer {account.token}", "X-Request-ID": "req-123"},
        )
    finally:
        async with api_app.state.engine.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE tags_away RENAME TO tags"))
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"}
    assert "tags_away" not in error["message"]
    assert "relation" not in error["message"]
    assert response.headers["x-request-id"] == "req-123"
    assert any("req-123" in r.getMessage() for r in caplog.records)


HOME = """
query($first: Int!) {
  contacts(first: $first, orderBy: NEXT_FOLLOW_UP) {
    edges { cursor node {
      id displayName company nextFollowUpAt introducedBy { id }
      tags { name }
      interactions(first: 3) { nodes { id kind occurredAt summary contacts { id } } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def _seed(app: Starlette, owner: UUID, contacts: int) -> None:
    now = datetime.now(UTC)
    async with open_writer(app.state.engine, owner, SystemClock()) as w:
        ids = [new_id() for _ in range(contacts)]
        await importer.import_rows(
            w,
            CONTACT,
            [({"id": cid}, {"firstName": f"P{n}", "cadenceDays": 30}) for n, cid in enumerate(ids)],
        )
        rows, pairs = [], []
        for n, cid in enumerate(ids):
            for k in range(4):
                iid, when = new_id(), now - timedelta(days=n + k)
                rows.append(
                    ({"id": iid}, {"kind": "CALL", "occurredAt": when, "summary": f"call {k}"})
                )
                pairs.append((iid, cid, when))
        await importer.import_rows(w, INTERACTION, rows)
        await importer.import_participants(w, pairs)
        w.touched_contacts.update(ids)


async def test_a_page_costs_the_same_statements_at_5_and_100_contacts(
    http: httpx.AsyncClient, api_app: Starlette, api_db: str, session_tmp: Path
) -> None:
    account = await sign_up(http)
    await _seed(api_app, UUID(account.user_id), 100)
    resolver_app = create_app(
        make_settings(session_tmp, graphql={"compiled_reads": False}), database_url=api_db
    )
    async with serve(resolver_app) as url, httpx.AsyncClient(base_url=url) as resolvers:
        for app, client in ((api_app, http), (resolver_app, resolvers)):
            counts = {}
            for first in (5, 100):
                with count_statements(app) as statements:
                    page = await data(client, HOME, {"first": first}, account.token)
                assert len(page["contacts"]["edges"]) == first
                edges = page["contacts"]["edges"]
                assert all(len(e["node"]["interactions"]["nodes"]) == 3 for e in edges)
                # The session check may be answered from the recent-session cache: leave it out.
                counts[first] = len([s for s in statements if "auth_sessions" not in s])
            if app is api_app:
                # The compiled read path (reads/): one statement renders the whole page.
                assert counts[5] == counts[100] == 1
            else:
                # The resolvers: the page, latest interactions, tags, the interactions'
                # participants and those contacts; five however long the page, never one per
                # contact.
                assert counts[5] == counts[100] == 5
