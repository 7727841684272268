"""Shared fixtures: a real PostgreSQL, a migrated template database, and a live API server.

The server is the one named by RAPPORT_TEST_DATABASE_URL, or an embedded one (pgserver) kept
under .rapport/test-pg. The schema is migrated once into a template database; integration
tests each get a fresh copy (CREATE DATABASE … TEMPLATE), API tests share one database and
keep apart by signing up their own users, as real users do.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from api.app import create_app
from api.settings import (
    AuthSettings,
    DatabaseSettings,
    GraphQLSettings,
    LimitSettings,
    MailSettings,
    PushSettings,
    ServerSettings,
    Settings,
    WorkerSettings,
)
from store import migrate
from store.embedded import start_embedded
from store.engine import create_engine
from tests.api.mailbox import MAILBOX
from tests.pgbouncer import run_pgbouncer

ROOT = Path(__file__).resolve().parent.parent

# A developer's shell must not change what the tests test: every RAPPORT_ variable is dropped
# before any test module is imported, but those that steer the tests themselves (make
# test-pgbouncer and make soak set some of them). tests/unit/test_test_environment.py fails if
# one leaks through, or if the tests read one that is not kept here.
TEST_VARIABLES = frozenset(
    {
        "RAPPORT_TEST_DATABASE_URL",
        "RAPPORT_TEST_PGBOUNCER",
        "RAPPORT_TEST_PGBOUNCER_BIN",
        "RAPPORT_TEST_PG_BIN",
        "RAPPORT_SYNC_EXAMPLES",
        "RAPPORT_MERGE_EXAMPLES",
        "RAPPORT_SOAK_SECONDS",
    }
)
for _name in [name for name in os.environ if name.upper().startswith("RAPPORT_")]:
    if _name.upper() not in TEST_VARIABLES:
        del os.environ[_name]
_servers: list[Any] = []


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """asyncpg takes plain postgresql:// URLs."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url() -> str:
    url = os.environ.get("RAPPORT_TEST_DATABASE_URL")
    if url:
        return url
    url, server = start_embedded(ROOT / ".rapport" / "test-pg")
    _servers.append(server)
    return url


async def _admin(server_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(libpq_url(server_url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_db(server_url: str) -> AsyncIterator[str]:
    name = f"rapport_tpl_{os.getpid()}"
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    engine = create_engine(with_database(server_url, name), pool_size=1)
    await migrate.upgrade(engine)
    await engine.dispose()
    yield name
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@asynccontextmanager
async def cloned_database(server_url: str, template: str) -> AsyncIterator[str]:
    name = f"rapport_t_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield with_database(server_url, name)
    finally:
        await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def db_url(server_url: str, template_db: str) -> AsyncIterator[str]:
    """A freshly migrated database of this test's own."""
    async with cloned_database(server_url, template_db) as url:
        yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url, pool_size=5)
    yield engine
    await engine.dispose()


# The groups make_settings can override, by their name in Settings.
GROUPS: dict[str, type[BaseSettings]] = {
    "server": ServerSettings,
    "database": DatabaseSettings,
    "auth": AuthSettings,
    "limits": LimitSettings,
    "graphql": GraphQLSettings,
    "push": PushSettings,
    "worker": WorkerSettings,
    "mail": MailSettings,
}


def make_settings(tmp_path: Path, **overrides: dict[str, Any]) -> Settings:
    """Return test settings; ``overrides`` maps a group's name to the fields it changes."""
    groups: dict[str, dict[str, Any]] = {
        "auth": {
            "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
            "password_hash_profile": "cheapest",
        },
        "database": {"data_dir": tmp_path},
        # Tests that want a worker run their own, on their own clock.
        "worker": {"in_process": False},
        # The API tests share one server and sign up (and in) hundreds of users from one
        # address; the tests of the limits set their own (tests/api/test_rate_limits.py).
        "limits": {"sign_up_address_limit": 100_000, "sign_in_address_limit": 100_000},
        "mail": {"address_limit": 100_000},
    }
    for group, fields in overrides.items():
        groups[group] = {**groups.get(group, {}), **fields}
    return Settings.model_validate(
        {group: GROUPS[group](**fields) for group, fields in groups.items()}
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on a loopback port; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rapport")


@pytest.fixture(scope="session")
async def api_db(server_url: str, template_db: str) -> AsyncIterator[str]:
    async with cloned_database(server_url, template_db) as url:
        yield url


@pytest.fixture(scope="session")
def api_pgbouncer(api_db: str) -> Iterator[str | None]:
    """With RAPPORT_TEST_PGBOUNCER=1, a PgBouncer in transaction mode before the API database."""
    if os.environ.get("RAPPORT_TEST_PGBOUNCER") != "1":
        yield None
        return
    with run_pgbouncer(api_db) as url:
        yield url


@pytest.fixture(scope="session")
async def api_app(api_db: str, api_pgbouncer: str | None, session_tmp: Path) -> Starlette:
    # Its emails are kept in MAILBOX, so tests can use their links (tests/api/graphql.py).
    if api_pgbouncer is None:
        return create_app(make_settings(session_tmp), database_url=api_db, mailer=MAILBOX)
    settings = make_settings(session_tmp, database={"pgbouncer": True, "direct_url": api_db})
    return create_app(settings, database_url=api_pgbouncer, mailer=MAILBOX)


@pytest.fixture(scope="session")
async def api_url(api_app: Starlette) -> AsyncIterator[str]:
    async with serve(api_app) as url:
        yield url


@pytest.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client
