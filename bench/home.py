"""Benchmark the home screen side by side: Rapport, PostGraphile 5 and pgbench on one database.

The home screen is 50 contacts by next follow-up, each with its 3 latest interactions. Run from
the repository root (``make bench-home`` installs the extras and PostGraphile first)::

    .venv/bin/python bench/home.py [--users 100 --contacts 10000 --interactions 10]
                                   [--workers 1 2] [--peers postgraphile pgbench]
                                   [--rounds 3] [--duration 20] [--warmup 5]
                                   [--connections 16] [--json PATH] [--plot PATH]
                                   [--seed-only] [--reseed]

A quick small run: ``.venv/bin/python bench/home.py --users 2 --contacts 2000 --rounds 1
--duration 5 --warmup 2``.

What it does:

1. Creates the database ``rapport_bench`` (``rapport_bench_<U>u_<C>c_<I>i`` for other sizes, or
   ``--database``) on the PostgreSQL server named by ``RAPPORT_DATABASE_URL`` (only its server is
   used), else on ``postgresql://postgres@127.0.0.1:5432/``; migrates it; and seeds the users
   that are missing with ``api.seed.seed_database``, one user per transaction, so an
   interrupted seed resumes where it stopped. The first user is ``demo@rapport.dev``, the
   others ``demo+N@rapport.dev``. While seeding, the database plans without nested loops
   (see ``seed``); afterwards it runs ``VACUUM (ANALYZE)``.
2. Creates the schema ``bench_graphile`` (``bench/home_views.sql``): views over Rapport's tables
   that PostGraphile serves; Rapport's migrations know nothing of it.
3. The contenders, each answering the home query for the demo user:

   - ``rapport-N``: ``rapport serve --workers N`` for each ``--workers`` value, as in production
     (uvicorn, uvloop, httptools, ``RAPPORT_ENV=production``), its pool sized to the
     connections; HOME_QUERY with a bearer token.
   - ``postgraphile``: PostGraphile 5 (``bench/package.json``, on the Node >= 22 that npm's
     ``node`` package provides; ``npm ci`` in ``bench/``), configured for production
     (``bench/graphile.config.mjs``: no GraphiQL, no explain, no watch) on the views, pool sized
     to the connections; POSTGRAPHILE_QUERY, the owner as a variable (no authentication).
   - ``pgbench``: the one equivalent SQL statement, ``bench/home_pgbench.sql``, ``-M prepared``.

4. Starts each contender in turn and takes its answer; meanwhile, with
   ``log_min_duration_statement = 0`` set on the bench database for this phase only, sends
   ``--statement-requests`` sequential requests and counts the bench database's statement
   lines in PostgreSQL's log (``--postgres-log``; nothing else should use the bench database
   meanwhile). For Rapport it also counts in-process (SQLAlchemy ``before_cursor_execute`` and
   asyncpg's query logger, which sees the compiled path's statement).
5. Refuses to go on unless all contenders returned the same rows: contact ids in order, each
   contact's interaction ids in order, their values, and ``hasNextPage`` (cursors are each
   server's own format).
6. ``--rounds`` rounds, interleaved (each contender in turn, then the next round). Each server
   runs only for its own run, so idle ones hold no connections. A run is a warm-up, then
   ``--duration`` seconds measured with ``wrk -t1 -c<connections> --latency`` (HTTP; the
   Python/httpx generator only when ``wrk`` is missing or ``--python-load``) or ``pgbench
   -M prepared -j1 -c<connections>`` (measured in a window inside a longer pgbench run, so
   that its backends are alive at both ends). Per round and contender: requests/s, p50, p99,
   the CPU per request of the server (its process tree: Rapport's workers, the node process)
   and of the bench database's PostgreSQL backends, PostgreSQL transactions per request
   (``pg_stat_database``), each server process's share, the peak RSS of its busiest process
   (VmHWM, reset through ``/proc/<pid>/clear_refs`` before the measured run), everything else
   the machine did, and the ratios to PostGraphile and to pgbench of the same round.
7. Prints a markdown table, and writes ``--json`` and a PNG plot of requests/s per contender
   per round (``--plot``; needs matplotlib, the ``bench`` extra: ``pip install -e '.[bench]'``).

``wrk`` and ``pgbench`` come from Debian (``apt-get install wrk postgresql-client``). Nothing
here asserts timings; the numbers go to ``bench/RESULTS.md`` by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RAPPORT = Path(sys.executable).parent / "rapport"
# PostGraphile 5 and the Node >= 22 it needs, both from bench/package.json (npm ci in bench/).
NODE = BENCH / "node_modules" / "node" / "bin" / "node"
POSTGRAPHILE = BENCH / "postgraphile.mjs"
VIEWS_SQL = BENCH / "home_views.sql"
PGBENCH_SQL = BENCH / "home_pgbench.sql"
# Where Debian's PostgreSQL 15 writes its log (pg_ctlcluster redirects the server's stderr).
POSTGRES_LOG = "/var/log/postgresql/postgresql-15-main.log"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/"
EMAIL = "demo@rapport.dev"
PASSWORD = "rapport-bench-password"  # noqa: S105 - generated bench users only
SECRET_KEY = "bench-only-secret-key-not-for-production-use-0123456789"  # noqa: S105
TOKEN_TTL_SECONDS = 7 * 24 * 3600
RANDOM_SEED = 7
PAGE = 50
LATEST = 3

HOME_QUERY = (
    "query Home { contacts(first: 50, orderBy: NEXT_FOLLOW_UP) { edges { cursor node { id "
    "displayName company nextFollowUpAt lastInteractionAt interactions(first: 3) { nodes { id "
    "kind occurredAt summary } } } } pageInfo { hasNextPage endCursor } } }"
)
SIGN_IN = (
    "mutation SignIn($input: SignInInput!) { signIn(input: $input) { __typename "
    "... on AuthPayload { accessToken } ... on InvalidCredentials { message } } }"
)
HOME_BODY = json.dumps({"query": HOME_QUERY, "operationName": "Home"})
# The same rows from PostGraphile: its connection over the bench_graphile views, aliased to
# HOME_QUERY's shape (PostGraphile names a table's own id column rowId, as its Node id is id).
POSTGRAPHILE_QUERY = (
    "query Home($owner: UUID!) { contacts: allContacts(condition: {ownerId: $owner}, "
    "orderBy: [NEXT_FOLLOW_UP_AT_ASC, ROW_ID_ASC], first: 50) { edges { cursor node { "
    "id: rowId displayName company nextFollowUpAt lastInteractionAt interactions(orderBy: "
    "[OCCURRED_AT_DESC, ROW_ID_DESC], first: 3) { nodes { id: rowId kind occurredAt summary } "
    "} } } pageInfo { hasNextPage endCursor } } }"
)


# ---------------------------------------------------------------------------------------------
# The database: create, migrate, seed (resumable), vacuum.


@dataclass(frozen=True)
class Dataset:
    users: int
    contacts: int
    interactions: int

    def emails(self) -> list[str]:
        local, _, domain = EMAIL.partition("@")
        return [EMAIL if n == 0 else f"{local}+{n}@{domain}" for n in range(self.users)]


def database_name(dataset: Dataset, explicit: str | None) -> str:
    if explicit:
        return explicit
    if dataset == Dataset(100, 10_000, 10):
        return "rapport_bench"
    return f"rapport_bench_{dataset.users}u_{dataset.contacts}c_{dataset.interactions}i"


def database_url(name: str) -> str:
    """Return the bench database's URL on the configured server."""
    server = os.environ.get("RAPPORT_DATABASE_URL") or DEFAULT_SERVER
    url = make_url(server).set(drivername="postgresql", database=name)
    return url.render_as_string(hide_password=False)


def _admin_engine(url: str, database: str = "postgres") -> AsyncEngine:
    admin = make_url(url).set(drivername="postgresql+asyncpg", database=database)
    return create_async_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def _quote(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"use a plain lower-case database name, not {name!r}")
    return f'"{name}"'


async def create_database(url: str, *, drop_first: bool) -> None:
    name = make_url(url).database
    assert name is not None
    engine = _admin_engine(url)
    try:
        async with engine.connect() as conn:
            if drop_first:
                await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)"))
            exists = await conn.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await conn.execute(sa.text(f"CREATE DATABASE {_quote(name)}"))
                print(f"created database {name}")
    finally:
        await engine.dispose()


async def migrate(url: str) -> None:
    from store import migrate as migrations
    from store.engine import create_engine

    engine = create_engine(url, pool_size=1)
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()


async def missing_users(url: str, dataset: Dataset) -> list[int]:
    """Return the numbers of the users still to seed; drop any left half-seeded."""
    emails = dataset.emails()
    engine = _admin_engine(url, make_url(url).database or "")
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.text(
                        "SELECT u.email, (SELECT count(*) FROM contacts AS c"
                        " WHERE c.owner_id = u.id) AS n FROM users AS u WHERE u.email = ANY(:e)"
                    ),
                    {"e": emails},
                )
            ).all()
            counts = {row.email: int(row.n) for row in rows}
            for email, n in counts.items():
                if n == 0:
                    # Signed up, but its contacts' transaction did not commit: seed it again.
                    await conn.execute(sa.text("DELETE FROM users WHERE email = :e"), {"e": email})
                    print(f"removed half-seeded user {email}")
                elif n != dataset.contacts:
                    raise SystemExit(
                        f"{email} has {n} contacts, not {dataset.contacts}: this database holds"
                        " another dataset; pass --reseed to rebuild it, or --database NAME"
                    )
    finally:
        await engine.dispose()
    return [n for n, email in enumerate(emails) if counts.get(email, 0) == 0]


async def seed(url: str, dataset: Dataset, todo: list[int]) -> float:
    """Seed the users numbered ``todo``; return the seconds it took."""
    from api import seed as seeding

    emails = dataset.emails()
    # Once the statistics know some owners, a new owner's contacts are estimated at one row,
    # and the planner runs the writer's derived-values refresh (sync/derived.py) as a nested
    # loop over the owner's contacts twice: 10,000 contacts took 100 s instead of 3 s. The
    # seeding sessions therefore plan without nested loops where they can; the setting is
    # removed again before anything is measured.
    await set_nestloop(url, enabled=False)
    started = time.perf_counter()
    try:
        for done, n in enumerate(todo, start=1):
            user_started = time.perf_counter()
            await seeding.seed_database(
                url,
                users=1,
                contacts=dataset.contacts,
                interactions=dataset.interactions,
                email=emails[n],
                password=PASSWORD,
                random_seed=RANDOM_SEED + n,
            )
            elapsed = time.perf_counter() - started
            print(
                f"seeded {emails[n]} in {time.perf_counter() - user_started:.1f} s"
                f" ({done}/{len(todo)}, {elapsed:.0f} s so far)",
                flush=True,
            )
    finally:
        await set_nestloop(url, enabled=True)
    return time.perf_counter() - started


async def set_nestloop(url: str, *, enabled: bool) -> None:
    """Set (or reset to the server's default) ``enable_nestloop`` for new sessions."""
    await set_database_option(url, "enable_nestloop", None if enabled else "off")


async def set_database_option(url: str, name: str, value: str | None) -> None:
    """Set a setting for the bench database's new sessions, or reset it (``None``)."""
    if not re.fullmatch(r"[a-z_]+", name) or (value is not None and not value.isalnum()):
        raise ValueError(f"not a plain setting: {name} = {value}")
    database = _quote(make_url(url).database or "")
    engine = _admin_engine(url)
    try:
        async with engine.connect() as conn:
            if value is None:
                await conn.execute(sa.text(f"ALTER DATABASE {database} RESET {name}"))
            else:
                await conn.execute(sa.text(f"ALTER DATABASE {database} SET {name} = {value}"))
    finally:
        await engine.dispose()


async def vacuum(url: str) -> float:
    engine = _admin_engine(url, make_url(url).database or "")
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("VACUUM (ANALYZE)"))
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def describe_data(url: str) -> dict[str, Any]:
    engine = _admin_engine(url, make_url(url).database or "")
    try:
        async with engine.connect() as conn:
            counts = {
                table: int(await conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)
                for table in ("users", "contacts", "interactions", "interaction_participants")
            }
            first = await conn.execute(
                sa.text(
                    "SELECT (SELECT count(*) FROM contacts c WHERE c.owner_id = u.id) AS contacts,"
                    " (SELECT count(*) FROM interactions i WHERE i.owner_id = u.id) AS interactions"
                    " FROM users u WHERE u.email = :e"
                ),
                {"e": EMAIL},
            )
            row = first.one()
            size = await conn.scalar(
                sa.text("SELECT pg_size_pretty(pg_database_size(current_database()))")
            )
            version = await conn.scalar(sa.text("SHOW server_version"))
    finally:
        await engine.dispose()
    return {
        "totals": counts,
        "first_user": {"contacts": int(row.contacts), "interactions": int(row.interactions)},
        "database_size": size,
        "postgresql": version,
    }


async def create_views(url: str) -> None:
    """(Re)create the bench_graphile views PostGraphile serves, in one transaction."""
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        # Several statements and no arguments: one simple-protocol query, one transaction.
        await conn.execute(VIEWS_SQL.read_text())
    finally:
        await conn.close()


async def owner_id(url: str) -> str:
    """Return the demo user's id: PostGraphile's and pgbench's owner (Rapport's comes signed)."""
    engine = _admin_engine(url, make_url(url).database or "")
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                sa.text("SELECT id FROM users WHERE email = :e"), {"e": EMAIL}
            )
    finally:
        await engine.dispose()
    if found is None:
        raise SystemExit(f"{EMAIL} is not in the database")
    return str(found)


# ---------------------------------------------------------------------------------------------
# One home response from each contender, and whether they agree.


async def sign_in(client: httpx.AsyncClient) -> str:
    body = {"query": SIGN_IN, "variables": {"input": {"email": EMAIL, "password": PASSWORD}}}
    response = await client.post("/graphql", json=body)
    response.raise_for_status()
    result = response.json()["data"]["signIn"]
    if result["__typename"] != "AuthPayload":
        raise SystemExit(f"sign-in failed: {result}")
    token: str = result["accessToken"]
    return token


async def home(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    """Ask Rapport (in-process or over HTTP) for the home screen as the signed-in user."""
    return await post_home(client, HOME_BODY, {"authorization": f"Bearer {token}"})


async def post_home(
    client: httpx.AsyncClient, body: str, headers: dict[str, str]
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json", **headers}
    )
    response.raise_for_status()
    payload: dict[str, Any] = response.json()
    if payload.get("errors"):
        raise SystemExit(f"the home query failed: {payload['errors']}")
    return payload


def statement_sql() -> str:
    """Return bench/home_pgbench.sql for SQLAlchemy: no comments, the owner a bind parameter."""
    lines = [line for line in PGBENCH_SQL.read_text().splitlines() if not line.startswith("--")]
    text = "\n".join(lines).rstrip().rstrip(";")
    if ":owner::uuid" not in text:
        raise SystemExit(f"{PGBENCH_SQL} no longer names the owner as :owner::uuid")
    return text.replace(":owner::uuid", "CAST(:owner AS uuid)")


async def run_statement(url: str, owner: str) -> dict[str, Any]:
    """Run pgbench's statement once and return what it renders, as a GraphQL response."""
    engine = _admin_engine(url, make_url(url).database or "")
    try:
        async with engine.connect() as conn:
            rendered = await conn.scalar(sa.text(statement_sql()), {"owner": owner})
    finally:
        await engine.dispose()
    data = json.loads(rendered) if isinstance(rendered, str) else rendered
    return {"data": data}


def check_home(payload: dict[str, Any], dataset: Dataset) -> str:
    """Return a one-line description of a home response, or fail if it looks wrong."""
    edges = payload["data"]["contacts"]["edges"]
    if len(edges) != min(PAGE, dataset.contacts):
        raise SystemExit(f"expected {min(PAGE, dataset.contacts)} contacts, got {len(edges)}")
    sizes = [len(edge["node"]["interactions"]["nodes"]) for edge in edges]
    if max(sizes) > LATEST:
        raise SystemExit(f"a contact came with more than {LATEST} interactions: {sizes}")
    follow_ups = [edge["node"]["nextFollowUpAt"] for edge in edges]
    known = [datetime.fromisoformat(f) for f in follow_ups if f is not None]
    if known != sorted(known):
        raise SystemExit("contacts are not ordered by next follow-up")
    return (
        f"{len(edges)} contacts, {sum(sizes)} interactions"
        f" ({sizes.count(LATEST)} contacts with {LATEST}), first follow-up {follow_ups[0]},"
        f" {len(json.dumps(payload))} bytes of JSON"
    )


def _instant(value: str | None) -> datetime | None:
    """Parse a timestamp as any contender writes it (ISO 8601, an offset or Z)."""
    return None if value is None else datetime.fromisoformat(value)


def home_rows(payload: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Return what must agree between contenders: each contact (id, values) in order, with its
    interactions (id, values) in order, and hasNextPage. Cursors are each server's own format."""
    connection = payload["data"]["contacts"]
    rows: list[tuple[Any, ...]] = []
    for edge in connection["edges"]:
        node = edge["node"]
        interactions = tuple(
            (i["id"], i["kind"], _instant(i["occurredAt"]), i["summary"])
            for i in node["interactions"]["nodes"]
        )
        rows.append(
            (
                node["id"],
                node["displayName"],
                node["company"],
                _instant(node["nextFollowUpAt"]),
                _instant(node["lastInteractionAt"]),
                interactions,
            )
        )
    rows.append(("hasNextPage", connection["pageInfo"]["hasNextPage"]))
    return rows


def require_same_rows(answers: dict[str, dict[str, Any]]) -> None:
    """Refuse to go on unless every contender returned the same rows as the first."""
    (first, reference), *others = [(key, home_rows(payload)) for key, payload in answers.items()]
    for key, rows in others:
        if rows == reference:
            continue
        at = next(
            (n for n, (a, b) in enumerate(zip(reference, rows, strict=False)) if a != b),
            min(len(reference), len(rows)),
        )
        mine = reference[at] if at < len(reference) else "(nothing)"
        theirs = rows[at] if at < len(rows) else "(nothing)"
        raise SystemExit(
            f"{key} and {first} return different rows ({len(rows) - 1} and"
            f" {len(reference) - 1} contacts); the first difference, row {at}:\n"
            f"  {first}: {mine}\n  {key}: {theirs}\nnot measuring contenders that disagree"
        )
    contacts = len(reference) - 1
    interactions = sum(len(row[5]) for row in reference[:-1])
    sizes = ", ".join(f"{key} {len(json.dumps(payload)):,}" for key, payload in answers.items())
    print(
        f"  all {len(answers)} contenders return the same {contacts} contacts and"
        f" {interactions} interactions, in the same order, with the same values"
        f" (bytes of JSON, as re-serialised here: {sizes})"
    )


# ---------------------------------------------------------------------------------------------
# Statements per request, counted in-process.


@dataclass
class StatementCount:
    requests: int
    statements: int
    checkouts: int
    transactions: int | None
    one_request: list[str] = field(default_factory=list)


async def _database_stat(url: str, column: str) -> int:
    """Return a counter of pg_stat_database for the bench database."""
    engine = _admin_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
            value = await conn.scalar(
                sa.text(f"SELECT {column} FROM pg_stat_database WHERE datname = :d"),
                {"d": make_url(url).database},
            )
    finally:
        await engine.dispose()
    return int(value or 0)


async def _transactions(url: str) -> int:
    return await _database_stat(url, "xact_commit + xact_rollback")


async def _sessions(url: str) -> int:
    return await _database_stat(url, "sessions")


async def count_statements(url: str, dataset: Dataset, requests: int) -> StatementCount:
    from api.app import create_app
    from api.settings import AuthSettings, DatabaseSettings, ServerSettings, Settings

    settings = Settings(
        server=ServerSettings(env="production", log_level="WARNING"),
        database=DatabaseSettings(url=url),
        auth=AuthSettings(secret_key=SECRET_KEY, access_token_ttl_seconds=TOKEN_TTL_SECONDS),
    )
    app = create_app(settings, database_url=url)
    engine: AsyncEngine = app.state.engine
    statements: list[str] = []
    checkouts: list[int] = []

    def on_execute(*args: Any) -> None:
        statements.append(str(args[2]))

    def on_checkout(*args: Any) -> None:
        checkouts.append(1)

    def on_query(query: Any) -> None:
        # The compiled read path sends its statement through asyncpg without SQLAlchemy; for
        # SQLAlchemy's own statements asyncpg logs only the transaction control around them.
        if query.query not in ("BEGIN;", "COMMIT;", "ROLLBACK;"):
            statements.append(query.query)

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(on_query)

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    event.listen(engine.sync_engine.pool, "checkout", on_checkout)
    event.listen(engine.sync_engine.pool, "connect", on_connect)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            token = await sign_in(client)
            print("  in-process:", check_home(await home(client, token), dataset))
            statements.clear()
            checkouts.clear()
            await home(client, token)
            await asyncio.sleep(0.1)
            one_request = list(statements)
            # PostgreSQL backends report their counters at most once a second.
            await asyncio.sleep(1.5)
            before = await _transactions(url)
            statements.clear()
            checkouts.clear()
            for _ in range(requests):
                await home(client, token)
            await asyncio.sleep(0.1)  # asyncpg calls its query loggers soon after, not at once
            counted, checked_out = len(statements), len(checkouts)
    finally:
        await engine.dispose()  # closing the backends makes them report their counters
    await asyncio.sleep(1.5)
    after = await _transactions(url)
    return StatementCount(
        requests=requests,
        statements=counted,
        checkouts=checked_out,
        transactions=after - before,
        one_request=one_request,
    )


# ---------------------------------------------------------------------------------------------
# CPU accounting from /proc.

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """Return (command, parent pid, CPU ticks) of a process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    command = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return command, int(fields[1]), int(fields[11]) + int(fields[12])


def _processes() -> dict[int, tuple[str, int, int]]:
    found: dict[int, tuple[str, int, int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                found[int(entry.name)] = stat
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _machine_ticks() -> tuple[int, int]:
    """Return (busy, total) CPU ticks of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


@dataclass
class CpuSnapshot:
    server: dict[int, int]
    postgres: dict[int, int]
    everyone: dict[int, int]
    busy: int
    total: int


def cpu_snapshot(server_pid: int | None, database: str) -> CpuSnapshot:
    """Take the CPU ticks of the server's process tree (none for pgbench) and of everyone."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    tree: dict[int, int] = {}
    stack = [] if server_pid is None else [server_pid]
    while stack:
        pid = stack.pop()
        if pid in processes:
            tree[pid] = processes[pid][2]
        stack.extend(children.get(pid, []))
    backends = {
        pid: ticks
        for pid, (command, _, ticks) in processes.items()
        if command.startswith("postgres") and f" {database} " in _cmdline(pid)
    }
    everyone = {pid: ticks for pid, (_, _, ticks) in processes.items()}
    busy, total = _machine_ticks()
    return CpuSnapshot(server=tree, postgres=backends, everyone=everyone, busy=busy, total=total)


def other_processes(before: CpuSnapshot, after: CpuSnapshot) -> list[tuple[float, str]]:
    """Return the CPU seconds of every other process alive at both ends, busiest first."""
    ours = {os.getpid(), *after.server, *after.postgres}
    used = [
        ((ticks - before.everyone[pid]) / TICK, pid)
        for pid, ticks in after.everyone.items()
        if pid in before.everyone and pid not in ours and ticks > before.everyone[pid]
    ]
    return [(seconds, _cmdline(pid)[:70] or str(pid)) for seconds, pid in sorted(used)[::-1]]


def _delta(before: dict[int, int], after: dict[int, int]) -> float:
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / TICK


def tree(root: int) -> list[int]:
    """Return a process and its descendants."""
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in _processes().items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def reset_peak_rss(pids: list[int]) -> bool:
    """Reset each process's VmHWM to its current RSS (Linux >= 4.0); False when not allowed."""
    try:
        for pid in pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib(pids: list[int]) -> float | None:
    """Return the greatest VmHWM among the processes: the busiest worker's peak, in MiB."""
    peaks = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if found:
            peaks.append(int(found[1]) / 1024)
    return max(peaks) if peaks else None


# ---------------------------------------------------------------------------------------------
# The contenders.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running(
    command: list[str], env: dict[str, str], cwd: Path, log_path: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server until the block ends, once ``ready()`` says it answers."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{command[0]} exited:\n{log_path.read_text()[-3000:]}")
            try:
                if ready():
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{command[0]} was not ready in time:\n{log_path.read_text()}")
            time.sleep(0.25)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def serving(
    url: str, workers: int, log_path: Path, pool_size: int
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run ``rapport serve`` as production would, until the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_ENV": "production",
        "RAPPORT_SECRET_KEY": SECRET_KEY,
        "RAPPORT_LOG_LEVEL": "warning",
        "RAPPORT_ACCESS_TOKEN_TTL_SECONDS": str(TOKEN_TTL_SECONDS),
        # One user drives thousands of requests a minute: measure the server, not its limit.
        "RAPPORT_REQUEST_LIMIT": "100000000",
        # A connection for every concurrent request, as PostGraphile gets: overflow connections
        # are closed on return, and reopening them cost more than the requests (RESULTS.md).
        # This is per worker.
        "RAPPORT_DB_POOL_SIZE": str(pool_size),
    }
    base = f"http://127.0.0.1:{port}"
    command = [str(RAPPORT), "serve", "--port", str(port), "--workers", str(workers)]

    def ready() -> bool:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200

    with running(command, env, ROOT, log_path, ready) as process:
        yield process, base


@contextmanager
def serving_postgraphile(
    url: str, log_path: Path, pool_size: int
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run PostGraphile 5 (bench/postgraphile.mjs) on the bench_graphile views."""
    if not NODE.exists():
        raise SystemExit(f"{NODE} is missing: run `npm ci` in bench/ (make bench-home does)")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": make_url(url).set(drivername="postgres").render_as_string(False),
        "PORT": str(port),
        "POOL_SIZE": str(pool_size),
        "NODE_ENV": "production",
    }
    base = f"http://127.0.0.1:{port}"
    probe = json.dumps({"query": "{ __typename }"})

    def ready() -> bool:
        headers = {"content-type": "application/json"}
        return httpx.post(f"{base}/graphql", content=probe, headers=headers).status_code == 200

    with running([str(NODE), str(POSTGRAPHILE)], env, BENCH, log_path, ready) as process:
        yield process, base


@dataclass
class Contender:
    key: str
    label: str
    # HTTP contenders: where and what to post. pgbench has none.
    base: str = ""
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # The server process, the root of the tree whose CPU and memory count as the server's.
    pid: int | None = None


def label_of(key: str) -> str:
    if key.startswith("rapport-"):
        workers = int(key.removeprefix("rapport-"))
        return f"Rapport, {workers} worker{'s' if workers > 1 else ''}"
    return {"postgraphile": "PostGraphile 5", "pgbench": "pgbench, the one SQL statement"}[key]


@contextmanager
def contender(key: str, url: str, owner: str, pool_size: int, logs: Path) -> Iterator[Contender]:
    """Start one contender (pgbench needs nothing) and say how to ask it for the home screen."""
    if key.startswith("rapport-"):
        workers = int(key.removeprefix("rapport-"))
        # Each worker's pool: uvicorn's workers take connections by chance, and one may get all.
        with serving(url, workers, logs / f"{key}.log", pool_size) as (process, base):

            async def signed_in() -> str:
                async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                    return await sign_in(client)

            token = asyncio.run(signed_in())
            headers = {"authorization": f"Bearer {token}"}
            yield Contender(key, label_of(key), base, HOME_BODY, headers, process.pid)
    elif key == "postgraphile":
        with serving_postgraphile(url, logs / f"{key}.log", pool_size) as (process, base):
            body = json.dumps(
                {
                    "query": POSTGRAPHILE_QUERY,
                    "operationName": "Home",
                    "variables": {"owner": owner},
                }
            )
            yield Contender(key, label_of(key), base, body, {}, process.pid)
    elif key == "pgbench":
        yield Contender(key, label_of(key))
    else:
        raise SystemExit(f"no contender {key!r}")


async def answer(target: Contender, url: str, owner: str) -> dict[str, Any]:
    """Return one home response of a contender."""
    if not target.base:
        return await run_statement(url, owner)
    async with httpx.AsyncClient(base_url=target.base, timeout=60) as client:
        return await post_home(client, target.body, target.headers)


# ---------------------------------------------------------------------------------------------
# Statements per request, from PostgreSQL's log.

# log_min_duration_statement = 0 logs one line per simple query ("statement: ...") and, for the
# extended protocol, a line for each parse, bind and execute; a statement run is a "statement"
# or an "execute" line.
LOG_LINE = re.compile(
    r" \w*@(?P<database>\S+) LOG:  duration: [\d.]+ ms  (?P<kind>statement|execute|parse|bind)"
    r"(?: [^:]*)?: (?P<text>.*)$"
)


class LogTail:
    """The lines PostgreSQL's log gains from now on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size

    def statements(self, database: str) -> list[tuple[str, str]]:
        """Return (kind, text) of the bench database's statement lines since the last call."""
        with self.path.open("rb") as log:
            log.seek(self.offset)
            new = log.read()
        self.offset += len(new)
        found: list[tuple[str, str]] = []
        ours = False
        for line in new.decode(errors="replace").splitlines():
            if line.startswith(("\t", " ")):  # a statement's next line
                if ours:
                    found[-1] = (found[-1][0], f"{found[-1][1]} {line.strip()}")
                continue
            match = LOG_LINE.search(line)
            ours = bool(match and match["database"] == database)
            if match and ours:
                found.append((match["kind"], match["text"]))
        return found


@dataclass
class LoggedStatements:
    requests: int
    statements: int
    parses: int
    # The statements of one request, shortened: what one request does.
    one_request: list[str]

    @property
    def per_request(self) -> float:
        return self.statements / self.requests


def check_contenders(
    url: str, owner: str, keys: list[str], requests: int, logs: Path, log_path: Path | None
) -> tuple[dict[str, dict[str, Any]], dict[str, LoggedStatements]]:
    """Start each contender in turn: take its answer, and count its statements per request in
    PostgreSQL's log (when ``log_path`` is given and ``requests`` > 0).

    ``log_min_duration_statement`` is set for the bench database's new sessions meanwhile, so
    each contender starts afresh here and again, without it, for each measured run. The count
    is the bench database's lines: nothing else should use that database meanwhile.
    """
    database = make_url(url).database or ""
    answers: dict[str, dict[str, Any]] = {}
    counted: dict[str, LoggedStatements] = {}
    logging = log_path is not None and requests > 0
    if logging:
        asyncio.run(set_database_option(url, "log_min_duration_statement", "0"))
    try:
        for key in keys:
            with contender(key, url, owner, 4, logs) as target:
                answers[key] = asyncio.run(answer(target, url, owner))
                if not logging or log_path is None:
                    continue
                if target.base:
                    tail = asyncio.run(_sequential(target, requests, log_path))
                else:
                    tail = LogTail(log_path)
                    run_pgbench(url, owner, 1, transactions=requests, latencies=False)
                time.sleep(0.5)
                lines = tail.statements(database)
            run = [
                " ".join(text.split()) for kind, text in lines if kind in ("statement", "execute")
            ]
            counted[key] = LoggedStatements(
                requests=requests,
                statements=len(run),
                parses=sum(kind == "parse" for kind, _ in lines),
                one_request=[
                    f"{n / requests:g} x {text[:130]}" for text, n in Counter(run).most_common()
                ],
            )
    finally:
        if logging:
            asyncio.run(set_database_option(url, "log_min_duration_statement", None))
    return answers, counted


async def _sequential(target: Contender, requests: int, log_path: Path) -> LogTail:
    """Send ``requests`` home requests one after another on one keep-alive connection, after a
    few that open and prepare what a new connection needs; return the log from their start."""
    async with httpx.AsyncClient(base_url=target.base, timeout=60) as client:
        for _ in range(5):
            await post_home(client, target.body, target.headers)
        await asyncio.sleep(0.3)
        tail = LogTail(log_path)
        for _ in range(requests):
            await post_home(client, target.body, target.headers)
    return tail


# ---------------------------------------------------------------------------------------------
# The load generators.


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
{headers}

local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  failed = 0
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    failed = failed + 1
  end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("failed") end
  local e = summary.errors
  io.write(string.format("bench requests %d\\n", summary.requests))
  io.write(string.format("bench duration_us %d\\n", summary.duration))
  io.write(string.format("bench failed %d\\n", n + e.connect + e.read + e.write + e.timeout))
  io.write(string.format("bench p50_us %d\\n", latency:percentile(50)))
  io.write(string.format("bench p99_us %d\\n", latency:percentile(99)))
  io.write(string.format("bench mean_us %d\\n", latency.mean))
  io.write(string.format("bench max_us %d\\n", latency.max))
end
"""


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    failed: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(target: Contender, connections: int, threads: int, seconds: int) -> LoadResult:
    headers = "\n".join(
        f'wrk.headers["{name}"] = "{value}"' for name, value in target.headers.items()
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=target.body, headers=headers))
    try:
        command = [
            "wrk",
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={seconds}s",
            "--timeout=60s",
            "--latency",
            f"--script={script.name}",
            f"{target.base}/graphql",
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    values = dict(re.findall(r"^bench (\w+) (\d+)$", output, re.MULTILINE))
    return LoadResult(
        tool=f"wrk -t{threads} -c{connections}",
        requests=int(values["requests"]),
        seconds=int(values["duration_us"]) / 1e6,
        failed=int(values["failed"]),
        p50_ms=int(values["p50_us"]) / 1000,
        p99_ms=int(values["p99_us"]) / 1000,
        mean_ms=int(values["mean_us"]) / 1000,
        max_ms=int(values["max_us"]) / 1000,
    )


# pgbench opens its connections when it starts and closes them when it ends, so the backends'
# CPU is only visible while it runs: a measured run is a window inside a longer pgbench run.
PGBENCH_MARGIN = 1.5


def run_pgbench(
    url: str,
    owner: str,
    connections: int,
    *,
    seconds: int | None = None,
    transactions: int | None = None,
    latencies: bool = True,
    window: Callable[[int | None], None] | None = None,
) -> LoadResult:
    """Run bench/home_pgbench.sql under pgbench (one thread, prepared statements).

    With ``window``, pgbench runs ``PGBENCH_MARGIN`` seconds longer at each end; ``window(pid)``
    is called when the measured ``seconds`` start and end, and only the transactions that
    completed between the two calls count.
    """
    target = make_url(url)
    total = seconds + 2 * PGBENCH_MARGIN if seconds and window else seconds
    command = [
        "pgbench",
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={connections}",
        "--jobs=1",
        f"--file={PGBENCH_SQL}",
        f"--define=owner={owner}",
        f"--host={target.host or '127.0.0.1'}",
        f"--port={target.port or 5432}",
        f"--username={target.username or 'postgres'}",
        *([f"--time={math.ceil(total)}"] if total else [f"--transactions={transactions}"]),
    ]
    env = {**os.environ, **({"PGPASSWORD": target.password} if target.password else {})}
    with tempfile.TemporaryDirectory(prefix="rapport-pgbench-") as logs:
        if latencies or window:
            # One line per transaction: client, number, latency (us), script, end (s, us).
            command += ["--log", f"--log-prefix={logs}/pgbench"]
        command.append(target.database or "")
        out, err = Path(logs) / "stdout", Path(logs) / "stderr"
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
            started = ended = 0.0
            if window and seconds:
                time.sleep(PGBENCH_MARGIN)
                started = time.time()
                window(process.pid)
                time.sleep(seconds - (time.time() - started))
                ended = time.time()
                window(process.pid)
            process.wait()
        output = out.read_text()
        if process.returncode:
            raise SystemExit(f"pgbench failed:\n{output[-2000:]}{err.read_text()[-2000:]}")
        ends_and_times = [
            (int(fields[4]) + int(fields[5]) / 1e6, int(fields[2]) / 1000)
            for log in Path(logs).glob("pgbench*")
            for fields in (line.split() for line in log.read_text().splitlines())
        ]
    failed = re.search(r"number of failed transactions: (\d+)", output)
    if window and seconds:
        times = sorted(ms for end, ms in ends_and_times if started <= end < ended)
        requests, measured = len(times), ended - started
    else:
        processed = re.search(r"number of transactions actually processed: (\d+)", output)
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
        if not processed or not tps:
            raise SystemExit(f"could not read pgbench's output:\n{output}")
        times = sorted(ms for _, ms in ends_and_times)
        requests = int(processed[1])
        measured = requests / float(tps[1])
    return LoadResult(
        tool=f"pgbench -M prepared -j1 -c{connections}",
        requests=requests,
        seconds=measured,
        failed=int(failed[1]) if failed else 0,
        p50_ms=_percentile(times, 0.50) if times else 0.0,
        p99_ms=_percentile(times, 0.99) if times else 0.0,
        mean_ms=sum(times) / len(times) if times else 0.0,
        max_ms=times[-1] if times else 0.0,
    )


def run_python_load(target: Contender, connections: int, seconds: int) -> LoadResult:
    config = json.dumps(
        {
            "base": target.base,
            "body": target.body,
            "headers": target.headers,
            "c": connections,
            "s": seconds,
        }
    )
    command = [sys.executable, str(Path(__file__).resolve()), "--load-generator", config]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    values = json.loads(output.strip().splitlines()[-1])
    return LoadResult(tool=f"python/httpx -c{connections}", **values)


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def python_load_generator(config: dict[str, Any]) -> dict[str, Any]:
    """The fallback load generator: ``c`` connections posting the query for ``s`` seconds."""
    latencies: list[float] = []
    failed = 0
    headers = {"content-type": "application/json", **config["headers"]}
    limits = httpx.Limits(max_connections=config["c"], max_keepalive_connections=config["c"])
    async with httpx.AsyncClient(base_url=config["base"], limits=limits, timeout=60) as client:
        started = time.perf_counter()
        deadline = started + config["s"]

        async def connection() -> None:
            nonlocal failed
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                response = await client.post("/graphql", content=config["body"], headers=headers)
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200 or b'"errors"' in response.content:
                    failed += 1

        await asyncio.gather(*(connection() for _ in range(config["c"])))
        seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "seconds": seconds,
        "failed": failed,
        "p50_ms": _percentile(ordered, 0.50) * 1000,
        "p99_ms": _percentile(ordered, 0.99) * 1000,
        "mean_ms": sum(ordered) / len(ordered) * 1000,
        "max_ms": ordered[-1] * 1000,
    }


# ---------------------------------------------------------------------------------------------
# One measured run.


@dataclass
class Measured:
    round: int
    key: str
    label: str
    load: LoadResult
    # CPU seconds of the server's process tree (Rapport's workers, the node process; none for
    # pgbench), of the bench database's PostgreSQL backends, of the load generator, and of the
    # whole machine, over ``wall`` seconds.
    server_cpu: float
    postgres_cpu: float
    load_cpu: float
    busy: float
    wall: float
    # Cores each server process that did work used, busiest first.
    per_process: list[float]
    others: list[tuple[float, str]]
    # PostgreSQL transactions committed or rolled back, and sessions opened, in the run.
    transactions: int
    sessions: int
    peak_rss_mib: float | None
    load_average: tuple[float, float, float]

    def per_request_ms(self, seconds: float) -> float:
        return seconds / self.load.requests * 1000 if self.load.requests else float("nan")

    @property
    def other_cores(self) -> float:
        return sum(seconds for seconds, _ in self.others) / self.wall


@dataclass
class Mark:
    """What one end of a measured run sees."""

    time: float
    cpu: CpuSnapshot
    load_cpu: float
    transactions: int
    sessions: int


def measure(
    target: Contender, round_number: int, url: str, owner: str, args: argparse.Namespace
) -> Measured:
    database = make_url(url).database or ""
    processes = tree(target.pid) if target.pid else []
    marks: list[Mark] = []
    peak_known: list[bool] = []

    def mark(load_pid: int | None) -> None:
        """Take one end of the window: the load generator's CPU is its own process's when it
        runs on (pgbench), else that of the finished children (wrk)."""
        if not marks and processes:
            peak_known.append(reset_peak_rss(processes))
        load_cpu = _children_cpu()
        if load_pid is not None:
            stat = _stat(load_pid)
            load_cpu = stat[2] / TICK if stat else 0.0
        marks.append(
            Mark(
                time=time.time(),
                cpu=cpu_snapshot(target.pid, database),
                load_cpu=load_cpu,
                transactions=asyncio.run(_transactions(url)),
                sessions=asyncio.run(_sessions(url)),
            )
        )

    def drive(seconds: int, window: Callable[[int | None], None] | None) -> LoadResult:
        if not target.base:
            return run_pgbench(url, owner, args.connections, seconds=seconds, window=window)
        if window:
            window(None)
        if shutil.which("wrk") and not args.python_load:
            result = run_wrk(target, args.connections, args.threads, seconds)
        else:
            result = run_python_load(target, args.connections, seconds)
        if window:
            window(None)
        return result

    if args.warmup:
        warm = drive(args.warmup, None)
        print(f"  warm-up: {warm.rate:.1f} req/s over {warm.seconds:.0f} s")
    result = drive(args.duration, mark)
    before, after = marks
    wall = after.time - before.time
    load_1, load_5, load_15 = os.getloadavg()
    return Measured(
        round=round_number,
        key=target.key,
        label=target.label,
        load=result,
        server_cpu=_delta(before.cpu.server, after.cpu.server),
        postgres_cpu=_delta(before.cpu.postgres, after.cpu.postgres),
        load_cpu=after.load_cpu - before.load_cpu,
        busy=(after.cpu.busy - before.cpu.busy) / TICK,
        wall=wall,
        per_process=sorted(
            (
                (ticks - before.cpu.server.get(pid, 0)) / TICK / wall
                for pid, ticks in after.cpu.server.items()
                if ticks > before.cpu.server.get(pid, 0)
            ),
            reverse=True,
        ),
        others=other_processes(before.cpu, after.cpu),
        # Backends report their counters when idle, at most once a second: under steady load
        # the part not yet reported is about the same at both ends.
        transactions=after.transactions - before.transactions,
        sessions=after.sessions - before.sessions,
        peak_rss_mib=peak_rss_mib(processes) if all(peak_known) and processes else None,
        load_average=(load_1, load_5, load_15),
    )


def report(m: Measured) -> None:
    load = m.load
    others = sum(seconds for seconds, _ in m.others)
    rest = max(0.0, m.busy - m.server_cpu - m.postgres_cpu - m.load_cpu - others)
    print(
        f"  {load.rate:.1f} req/s ({load.requests} requests in {load.seconds:.1f} s,"
        f" {load.failed} failed), p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms,"
        f" mean {load.mean_ms:.1f} ms, max {load.max_ms:.1f} ms [{load.tool}]"
    )
    print(
        f"  CPU per request: server {m.per_request_ms(m.server_cpu):.2f} ms,"
        f" PostgreSQL backends {m.per_request_ms(m.postgres_cpu):.2f} ms,"
        f" load generator {m.per_request_ms(m.load_cpu):.2f} ms;"
        f" machine busy {m.busy / m.wall / (os.cpu_count() or 1) * 100:.0f}% of"
        f" {os.cpu_count()} cores, of which other processes {others / m.wall:.2f} cores"
        f" and the kernel or exited processes {rest / m.wall:.2f} cores"
    )
    split = ", ".join(f"{cores:.2f}" for cores in m.per_process) or "-"
    peak = f"{m.peak_rss_mib:.0f} MiB" if m.peak_rss_mib is not None else "unknown"
    print(
        f"  server processes busy (cores, each): {split}; peak RSS {peak};"
        f" {m.transactions / max(1, load.requests):.2f} PostgreSQL transactions per request;"
        f" {m.sessions} PostgreSQL sessions opened"
    )
    for seconds, command in m.others[:3]:
        print(f"    other: {seconds / m.wall:.2f} cores  {command}")


# ---------------------------------------------------------------------------------------------
# The summary: a markdown table, JSON and a plot.


def ratios(m: Measured, results: list[Measured]) -> dict[str, float | None]:
    """Return a run's requests/s over PostGraphile's and pgbench's in the same round."""
    found: dict[str, float | None] = {}
    for peer in ("postgraphile", "pgbench"):
        same = [r for r in results if r.round == m.round and r.key == peer]
        found[peer] = m.load.rate / same[0].load.rate if same and same[0].load.rate else None
    return found


def markdown_table(results: list[Measured], statements: dict[str, LoggedStatements]) -> str:
    def ratio(value: float | None) -> str:
        return f"{value:.2f}" if value is not None else "-"

    lines = [
        "| round | server | req/s | p50 | p99 | server CPU / request | PostgreSQL CPU / request"
        " | statements / request | transactions / request | peak RSS (busiest process)"
        " | × PostGraphile | × pgbench | server processes (cores each) | other processes |",  # noqa: RUF001
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        load, found = m.load, ratios(m, results)
        logged = statements.get(m.key)
        per_request = f"{logged.per_request:g}" if logged else "-"
        peak = f"{m.peak_rss_mib:.0f} MiB" if m.peak_rss_mib is not None else "-"
        server = f"{m.per_request_ms(m.server_cpu):.2f} ms" if m.key != "pgbench" else "-"
        split = " + ".join(f"{cores:.2f}" for cores in m.per_process) or "-"
        lines.append(
            f"| {m.round} | {m.label} | {load.rate:,.1f} | {load.p50_ms:.1f} ms"
            f" | {load.p99_ms:.1f} ms | {server} | {m.per_request_ms(m.postgres_cpu):.2f} ms"
            f" | {per_request} | {m.transactions / max(1, load.requests):.2f} | {peak}"
            f" | {ratio(found['postgraphile'])} | {ratio(found['pgbench'])} | {split}"
            f" | {m.other_cores:.2f} cores |"
        )
    return "\n".join(lines)


def write_json(path: Path, summary: dict[str, Any], results: list[Measured]) -> None:
    runs = []
    for m in results:
        run = asdict(m)
        run["requests_per_second"] = m.load.rate
        run["server_cpu_per_request_ms"] = m.per_request_ms(m.server_cpu)
        run["postgres_cpu_per_request_ms"] = m.per_request_ms(m.postgres_cpu)
        run["load_cpu_per_request_ms"] = m.per_request_ms(m.load_cpu)
        run["transactions_per_request"] = m.transactions / max(1, m.load.requests)
        run["ratio"] = ratios(m, results)
        runs.append(run)
    path.write_text(json.dumps({**summary, "runs": runs}, indent=2, default=str) + "\n")
    print(f"wrote {path}")


def plot(path: Path, results: list[Measured], title: str) -> None:
    """Draw requests/s per contender per round as grouped bars (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is missing (pip install -e '.[bench]', or make bench-home)")
        return
    rounds = sorted({m.round for m in results})
    keys = list(dict.fromkeys(m.key for m in results))
    width = 0.8 / len(keys)
    figure, axes = plt.subplots(figsize=(9, 4.8))
    for n, key in enumerate(keys):
        runs = {m.round: m for m in results if m.key == key}
        xs = [r + (n - (len(keys) - 1) / 2) * width for r in rounds if r in runs]
        ys = [runs[r].load.rate for r in rounds if r in runs]
        bars = axes.bar(xs, ys, width, label=next(iter(runs.values())).label)
        axes.bar_label(bars, fmt="%.0f", fontsize=8)
    # Headroom above the tallest bar for its label and the legend.
    axes.set_ylim(top=max(m.load.rate for m in results) * 1.25)
    axes.set_xticks(rounds, [f"round {r}" for r in rounds])
    axes.set_ylabel("requests/s (wrk or pgbench, higher is better)")
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8, loc="upper left", ncols=2)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    print(f"wrote {path}")


def describe_machine() -> dict[str, Any]:
    """Return what the numbers depend on: the machine, its load and the tools' versions."""

    def first_line(command: list[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError:
            return "missing"
        return (done.stdout or done.stderr).strip().splitlines()[0]

    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    try:
        graphile = json.loads((BENCH / "node_modules/postgraphile/package.json").read_text())
        postgraphile = str(graphile["version"])
    except (OSError, ValueError, KeyError):
        postgraphile = "not installed"
    # top's first screen reports CPU since boot: the second, half a second later, is now.
    top = subprocess.run(
        ["top", "-b", "-n2", "-d0.5"], capture_output=True, text=True, check=False
    ).stdout
    top = top[top.rfind("top - ") :] if "top - " in top else top
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu": model[1] if model else "unknown",
        "memory_gib": round(int(memory[1]) / 2**20, 1) if memory else None,
        "load_average": os.getloadavg(),
        "top": top.splitlines()[:15],
        "python": sys.version.split()[0],
        "wrk": first_line(["wrk", "-v"]),
        "pgbench": first_line(["pgbench", "--version"]),
        "node": first_line([str(NODE), "--version"]) if NODE.exists() else "not installed",
        "postgraphile": postgraphile,
    }


def code_version() -> str:
    """Return the checked-out commit and how many files differ from it."""
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%h %cd", "--date=format:%H:%M"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"commit {commit}, {len(changed)} tracked file(s) changed in the working tree"


def _project_first_on_path() -> None:
    """Import the project's packages, not bench/'s modules of the same name (bench/sync.py).

    Running ``python bench/home.py`` puts bench/ first on ``sys.path``; the project's modules
    are imported lazily, after this has put the repository root there instead.
    """
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(ROOT))


PEERS = ("postgraphile", "pgbench")


def main() -> None:
    _project_first_on_path()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--contacts", type=int, default=10_000, help="per user")
    parser.add_argument("--interactions", type=int, default=10, help="per contact, on average")
    parser.add_argument("--database", help="database name (default derived from the sizes)")
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed anew")
    parser.add_argument("--seed-only", action="store_true", help="prepare the database and stop")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="Rapport's")
    parser.add_argument("--peers", nargs="*", choices=PEERS, default=list(PEERS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=20, help="seconds of each measured run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of each warm-up run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--python-load", action="store_true", help="use the httpx generator")
    parser.add_argument("--statement-requests", type=int, default=50)
    parser.add_argument("--postgres-log", type=Path, default=Path(POSTGRES_LOG))
    parser.add_argument("--json", type=Path, help="write every run's numbers here")
    parser.add_argument("--plot", type=Path, help="PNG of req/s (default: next to --json)")
    parser.add_argument("--load-generator", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.load_generator:
        print(json.dumps(asyncio.run(python_load_generator(json.loads(args.load_generator)))))
        return

    dataset = Dataset(args.users, args.contacts, args.interactions)
    code = code_version()
    print(f"code: {code}")
    url = database_url(database_name(dataset, args.database))
    print(f"database {make_url(url).render_as_string(hide_password=True)}")
    asyncio.run(create_database(url, drop_first=args.reseed))
    asyncio.run(migrate(url))
    todo = asyncio.run(missing_users(url, dataset))
    if todo:
        print(f"seeding {len(todo)} of {dataset.users} users: {dataset.contacts} contacts each")
        seconds = asyncio.run(seed(url, dataset, todo))
        print(f"seeding took {seconds:.0f} s ({seconds / len(todo):.1f} s per user)")
        print(f"VACUUM (ANALYZE) took {asyncio.run(vacuum(url)):.0f} s")
    else:
        print(f"reusing the seeded database: {dataset.users} users are in place")
    asyncio.run(set_nestloop(url, enabled=True))  # in case an earlier seed was interrupted
    data = asyncio.run(describe_data(url))
    print("data:", json.dumps(data))
    if args.seed_only:
        return

    keys = [f"rapport-{workers}" for workers in args.workers] + list(args.peers)
    if not keys:
        raise SystemExit("nothing to measure: name --workers or --peers")
    if "pgbench" in keys and not shutil.which("pgbench"):
        raise SystemExit("pgbench is missing: apt-get install postgresql-client")
    if "postgraphile" in keys:
        asyncio.run(create_views(url))
    owner = asyncio.run(owner_id(url))
    machine = describe_machine()
    print(f"machine: {machine['cpus']} x {machine['cpu']}, load {machine['load_average']}")

    in_process: StatementCount | None = None
    if args.workers and args.statement_requests:
        print("Rapport's statements per request (in-process, httpx.ASGITransport):")
        in_process = asyncio.run(count_statements(url, dataset, args.statement_requests))
        n = in_process.requests
        print(
            f"  {in_process.statements / n:g} statements, {in_process.checkouts / n:g}"
            f" connection checkouts, {(in_process.transactions or 0) / n:.2f} PostgreSQL"
            f" transactions per request (over {n} requests)"
        )

    results: list[Measured] = []
    statements: dict[str, LoggedStatements] = {}
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as directory:
        logs = Path(directory)
        readable = os.access(args.postgres_log, os.R_OK)
        if args.statement_requests and not readable:
            print(f"cannot read {args.postgres_log}: statements per request not counted")
        print("each contender's answer" + (" and statements per request:" if readable else ":"))
        answers, statements = check_contenders(
            url, owner, keys, args.statement_requests, logs, args.postgres_log if readable else None
        )
        for key, logged in statements.items():
            print(f"  {label_of(key)}: {logged.per_request:g} ({logged.parses} parses)")
            for text in logged.one_request:
                print(f"   - {text}")
        print("  answer:", check_home(next(iter(answers.values())), dataset))
        require_same_rows(answers)

        # Each server runs only for its own runs: idle ones would hold connections (a shared
        # server allows 100) and memory, and the next round starts it afresh.
        for round_number in range(1, args.rounds + 1):
            for key in keys:
                print(f"round {round_number}, {label_of(key)}:")
                with contender(key, url, owner, args.connections, logs) as target:
                    measured = measure(target, round_number, url, owner, args)
                report(measured)
                results.append(measured)

    table = markdown_table(results, statements)
    print(table)
    title = (
        f"Home screen, {dataset.users} users x {dataset.contacts:,} contacts x"
        f" ~{dataset.interactions} interactions\n{args.connections} connections,"
        f" {args.duration} s a run; {machine['date']}; {code.split(',')[0]}"
    )
    if args.json:
        summary = {
            "machine": machine,
            "code": code,
            "dataset": asdict(dataset),
            "database": make_url(url).database,
            "data": data,
            "settings": {k: str(v) for k, v in vars(args).items() if k != "load_generator"},
            "statements": {key: asdict(logged) for key, logged in statements.items()},
            "statements_in_process": asdict(in_process) if in_process else None,
            "load_average_after": os.getloadavg(),
            "table": table,
        }
        write_json(args.json, summary, results)
    plot_path = args.plot or (args.json.with_suffix(".png") if args.json else None)
    if plot_path:
        plot(plot_path, results, title)


if __name__ == "__main__":
    main()
