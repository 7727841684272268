"""Benchmark the home screen: 50 contacts by next follow-up, each with its 3 latest interactions.

Run from the repository root::

    .venv/bin/python bench/home.py [--users 100 --contacts 10000 --interactions 10]
                                   [--workers 1 2] [--duration 30] [--warmup 10]
                                   [--connections 16] [--seed-only] [--reseed]

A quick small run: ``.venv/bin/python bench/home.py --users 2 --contacts 500 --duration 10``.

What it does:

1. Creates the database ``rapport_bench`` (``rapport_bench_<U>u_<C>c_<I>i`` for other sizes, or
   ``--database``) on the PostgreSQL server named by ``RAPPORT_DATABASE_URL`` (only its server is
   used), else on ``postgresql://postgres@127.0.0.1:5432/``; migrates it; and seeds the users
   that are missing with ``api.seed.seed_database``, one user per transaction, so an
   interrupted seed resumes where it stopped. The first user is ``demo@rapport.dev``, the
   others ``demo+N@rapport.dev``. While seeding, the database plans without nested loops
   (see ``seed``); afterwards it runs ``VACUUM (ANALYZE)``. ``wrk`` comes from Debian
   (``apt-get install wrk``).
2. Counts the SQL statements one home request issues: the app is built in-process, a SQLAlchemy
   ``before_cursor_execute`` listener counts statements and a pool ``checkout`` listener counts
   connection checkouts, and PostgreSQL's ``pg_stat_database`` counts transactions.
3. For each ``--workers`` value: starts ``rapport serve`` as in production (uvicorn, uvloop,
   httptools, ``RAPPORT_ENV=production``), signs in, checks one response, and drives the query
   from a separate load-generator process (``wrk`` when installed, else a Python/httpx one):
   a warm-up run, then a measured run at a fixed number of connections. It reports
   requests/s, p50 and p99 latency, and the CPU that the server processes (each worker), the
   bench database's PostgreSQL backends, the load generator and everything else on the
   machine used, so a run on a shared machine, or one where a single worker got every
   connection, shows as such.

Nothing here asserts timings; the numbers go to ``bench/RESULTS.md`` by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
RAPPORT = Path(sys.executable).parent / "rapport"
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
    name = _quote(make_url(url).database or "")
    engine = _admin_engine(url)
    try:
        async with engine.connect() as conn:
            if enabled:
                await conn.execute(sa.text(f"ALTER DATABASE {name} RESET enable_nestloop"))
            else:
                await conn.execute(sa.text(f"ALTER DATABASE {name} SET enable_nestloop = off"))
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


# ---------------------------------------------------------------------------------------------
# GraphQL over HTTP: sign in and check one home response.


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
    response = await client.post(
        "/graphql",
        content=HOME_BODY,
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    payload: dict[str, Any] = response.json()
    if payload.get("errors"):
        raise SystemExit(f"the home query failed: {payload['errors']}")
    return payload


def check_home(payload: dict[str, Any], dataset: Dataset) -> str:
    """Return a one-line description of a home response, or fail if it looks wrong."""
    edges = payload["data"]["contacts"]["edges"]
    if len(edges) != min(PAGE, dataset.contacts):
        raise SystemExit(f"expected {min(PAGE, dataset.contacts)} contacts, got {len(edges)}")
    sizes = [len(edge["node"]["interactions"]["nodes"]) for edge in edges]
    if max(sizes) > LATEST:
        raise SystemExit(f"a contact came with more than {LATEST} interactions: {sizes}")
    follow_ups = [edge["node"]["nextFollowUpAt"] for edge in edges]
    known = [f for f in follow_ups if f is not None]
    if known != sorted(known):
        raise SystemExit("contacts are not ordered by next follow-up")
    return (
        f"{len(edges)} contacts, {sum(sizes)} interactions"
        f" ({sizes.count(LATEST)} contacts with {LATEST}), first follow-up {follow_ups[0]},"
        f" {len(json.dumps(payload))} bytes of JSON"
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
    from api.settings import Settings

    settings = Settings(
        env="production",
        database_url=url,
        secret_key=SECRET_KEY,
        access_token_ttl_seconds=TOKEN_TTL_SECONDS,
        log_level="WARNING",
    )
    app = create_app(settings, database_url=url)
    engine: AsyncEngine = app.state.engine
    statements: list[str] = []
    checkouts: list[int] = []

    def on_execute(*args: Any) -> None:
        statements.append(str(args[2]))

    def on_checkout(*args: Any) -> None:
        checkouts.append(1)

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    event.listen(engine.sync_engine.pool, "checkout", on_checkout)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            token = await sign_in(client)
            print("  in-process:", check_home(await home(client, token), dataset))
            statements.clear()
            checkouts.clear()
            await home(client, token)
            one_request = list(statements)
            # PostgreSQL backends report their counters at most once a second.
            await asyncio.sleep(1.5)
            before = await _transactions(url)
            statements.clear()
            checkouts.clear()
            for _ in range(requests):
                await home(client, token)
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


def cpu_snapshot(server_pid: int, database: str) -> CpuSnapshot:
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    tree, stack = {}, [server_pid]
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


# ---------------------------------------------------------------------------------------------
# The server, and the load generators.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(
    url: str, workers: int, log_path: Path
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
    }
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(RAPPORT), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server was not ready in time:\n{log_path.read_text()}")
            time.sleep(0.25)
        yield process, base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"

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


def run_wrk(base: str, token: str, connections: int, threads: int, seconds: int) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=HOME_BODY, token=token))
    try:
        command = [
            "wrk",
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={seconds}s",
            "--timeout=60s",
            f"--script={script.name}",
            f"{base}/graphql",
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


def run_python_load(base: str, token: str, connections: int, seconds: int) -> LoadResult:
    config = json.dumps({"base": base, "token": token, "c": connections, "s": seconds})
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
    headers = {"content-type": "application/json", "authorization": f"Bearer {config['token']}"}
    limits = httpx.Limits(max_connections=config["c"], max_keepalive_connections=config["c"])
    async with httpx.AsyncClient(base_url=config["base"], limits=limits, timeout=60) as client:
        started = time.perf_counter()
        deadline = started + config["s"]

        async def connection() -> None:
            nonlocal failed
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                response = await client.post("/graphql", content=HOME_BODY, headers=headers)
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


@dataclass
class Measured:
    workers: int
    load: LoadResult
    server_cpu: float
    # CPU seconds of each server process that did work (uvicorn workers), busiest first.
    per_process: list[float]
    postgres_cpu: float
    load_cpu: float
    busy: float
    wall: float
    others: list[tuple[float, str]]
    # PostgreSQL sessions opened during the measured run (the pool's overflow connections).
    sessions: int

    def per_request_ms(self, seconds: float) -> float:
        return seconds / self.load.requests * 1000


def measure(
    url: str, dataset: Dataset, workers: int, args: argparse.Namespace, logs: Path
) -> Measured:
    database = make_url(url).database or ""
    generate: Callable[[str, str, int], LoadResult]
    if shutil.which("wrk") and not args.python_load:
        threads = args.threads

        def generate(base: str, token: str, seconds: int) -> LoadResult:
            return run_wrk(base, token, args.connections, threads, seconds)
    else:

        def generate(base: str, token: str, seconds: int) -> LoadResult:
            return run_python_load(base, token, args.connections, seconds)

    with serving(url, workers, logs / f"serve-{workers}.log") as (process, base):

        async def prepare() -> str:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                token = await sign_in(client)
                print("  served:", check_home(await home(client, token), dataset))
                return token

        token = asyncio.run(prepare())
        if args.warmup:
            warm = generate(base, token, args.warmup)
            print(f"  warm-up: {warm.rate:.1f} req/s over {warm.seconds:.0f} s")
        sessions_before = asyncio.run(_sessions(url))
        before = cpu_snapshot(process.pid, database)
        load_before = _children_cpu()
        started = time.perf_counter()
        result = generate(base, token, args.duration)
        wall = time.perf_counter() - started
        load_cpu = _children_cpu() - load_before
        after = cpu_snapshot(process.pid, database)
        sessions = asyncio.run(_sessions(url)) - sessions_before - 1
    return Measured(
        workers=workers,
        load=result,
        server_cpu=_delta(before.server, after.server),
        per_process=sorted(
            (
                (ticks - before.server.get(pid, 0)) / TICK
                for pid, ticks in after.server.items()
                if ticks > before.server.get(pid, 0)
            ),
            reverse=True,
        ),
        postgres_cpu=_delta(before.postgres, after.postgres),
        load_cpu=load_cpu,
        busy=(after.busy - before.busy) / TICK,
        wall=wall,
        others=other_processes(before, after),
        sessions=sessions,
    )


def report(measured: Measured) -> None:
    m, load = measured, measured.load
    others = sum(seconds for seconds, _ in m.others)
    rest = max(0.0, m.busy - m.server_cpu - m.postgres_cpu - m.load_cpu - others)
    print(
        f"  workers={m.workers}: {load.rate:.1f} req/s ({load.requests} requests in"
        f" {load.seconds:.1f} s, {load.failed} failed), p50 {load.p50_ms:.1f} ms,"
        f" p99 {load.p99_ms:.1f} ms, mean {load.mean_ms:.1f} ms, max {load.max_ms:.1f} ms"
        f" [{load.tool}]"
    )
    print(
        f"  CPU per request: server {m.per_request_ms(m.server_cpu):.2f} ms,"
        f" PostgreSQL backends {m.per_request_ms(m.postgres_cpu):.2f} ms,"
        f" load generator {m.per_request_ms(m.load_cpu):.2f} ms;"
        f" machine busy {m.busy / m.wall / (os.cpu_count() or 1) * 100:.0f}% of"
        f" {os.cpu_count()} cores, of which other processes {others / m.wall:.2f} cores"
        f" and the kernel or exited processes {rest / m.wall:.2f} cores"
    )
    split = ", ".join(f"{seconds / m.wall:.2f}" for seconds in m.per_process)
    print(f"  server processes busy (cores, each): {split}")
    print(f"  PostgreSQL sessions opened during the run: {m.sessions}")
    for seconds, command in m.others[:3]:
        print(f"    other: {seconds / m.wall:.2f} cores  {command}")


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


def main() -> None:
    _project_first_on_path()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--contacts", type=int, default=10_000, help="per user")
    parser.add_argument("--interactions", type=int, default=10, help="per contact, on average")
    parser.add_argument("--database", help="database name (default derived from the sizes)")
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed anew")
    parser.add_argument("--seed-only", action="store_true", help="prepare the database and stop")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=int, default=30, help="seconds of the measured run")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of the warm-up run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--python-load", action="store_true", help="use the httpx generator")
    parser.add_argument("--statement-requests", type=int, default=100)
    parser.add_argument("--load-generator", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.load_generator:
        print(json.dumps(asyncio.run(python_load_generator(json.loads(args.load_generator)))))
        return

    dataset = Dataset(args.users, args.contacts, args.interactions)
    print(f"code: {code_version()}")
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
    print("data:", json.dumps(asyncio.run(describe_data(url))))
    if args.seed_only:
        return

    print("statements per request (in-process, httpx.ASGITransport):")
    count = asyncio.run(count_statements(url, dataset, args.statement_requests))
    n = count.requests
    print(
        f"  {count.statements / n:g} statements, {count.checkouts / n:g} connection checkouts,"
        f" {(count.transactions or 0) / n:.2f} PostgreSQL transactions per request"
        f" (over {n} requests)"
    )
    for statement in count.one_request:
        print("   -", " ".join(statement.split())[:150])

    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as logs:
        for workers in args.workers:
            print(f"serving with {workers} worker(s):")
            report(measure(url, dataset, workers, args, Path(logs)))


if __name__ == "__main__":
    main()
