"""Benchmark sync: an initial syncPull of a large account, empty incremental pulls, and pushes.

Run from the repository root::

    .venv/bin/python bench/sync.py [--contacts 10000 --interactions 10]
                                   [--limits 500 2000 5000] [--repeat 2] [--empty-pulls 200]
                                   [--pushes 3] [--database NAME] [--json PATH] [--profile DIR]

A quick small run: ``.venv/bin/python bench/sync.py --contacts 500 --interactions 5``.

What it does:

1. Creates (or reuses) the database ``rapport_bench_sync`` (``rapport_bench_sync_<C>c_<I>i`` for
   other sizes, or ``--database``) on the PostgreSQL server named by ``RAPPORT_DATABASE_URL``
   (only its server is used), else on ``postgresql://postgres@127.0.0.1:5432/``; migrates it
   (``store.migrate.upgrade``); and, unless the user ``sync@bench.rapport`` already exists,
   seeds it with ``api.seed.seed_database`` (1 user, ``--contacts`` contacts, about
   ``--interactions`` interactions each). Contacts left by the pushes of an earlier run are
   removed, then ``VACUUM (ANALYZE)`` runs.
2. Starts ``rapport serve --workers 1`` as in production (``RAPPORT_ENV=production``, uvicorn,
   uvloop, httptools) and signs in with the ``signIn`` mutation. This process is the client
   (httpx, one keep-alive connection); the server is the subprocess.
3. Initial sync: a warm-up pass, then for each ``--limits`` value, ``--repeat`` times, pulls
   ``syncPull`` pages from ``cursor: null`` with a new client id until ``hasMore`` is false,
   and reports the wall time, the pages, the changes per entity, the peak server RSS (VmHWM,
   reset through ``/proc/<pid>/clear_refs`` before each pass) and the CPU that the server,
   the bench database's PostgreSQL backends, this client and everything else used.
4. Empty incremental pull: ``--empty-pulls`` sequential pulls from the final cursor, sent over one
   keep-alive ``http.client`` connection (httpx costs ~2 ms of client CPU a request); p50/p99.
5. Push: ``--pushes`` ``syncPush`` requests of 1,000 ``contact.put`` mutations each (fresh ids,
   mutation ids continuing 1..1000, 1001..2000, ...); checks every result is APPLIED, then
   pulls the pushed contacts incrementally. The pushed contacts are deleted again at the end.
6. With ``--profile DIR`` (needs ``py-spy``): one more initial sync at the largest limit and
   one more push, each recorded by ``py-spy record`` on the server, summarised by package and
   function; the raw stacks are left in DIR.

Nothing here asserts timings; the numbers go to ``bench/RESULTS.md`` by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/sync.py``, this file's folder comes first on sys.path, where this very
# file would shadow the project's ``sync`` package: search the repository root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RAPPORT = Path(sys.executable).parent / "rapport"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/"
EMAIL = "sync@bench.rapport"
PASSWORD = "bench-password-123"  # noqa: S105 - the generated bench user only
SECRET_KEY = "bench-sync-only-secret-key-not-for-production-0123456789"  # noqa: S105
TOKEN_TTL_SECONDS = 86_400
RANDOM_SEED = 3
PUSH_SIZE = 1_000
# Contacts created by the pushes carry this company, so a later run can remove them.
PUSH_COMPANY = "X"

PULL = (
    "query Pull($clientId: ID!, $cursor: String, $limit: Int!) { syncPull(clientId: $clientId,"
    " schemaVersion: 1, cursor: $cursor, limit: $limit) { changes"
    " cursor hasMore reset lastMutationId serverHlc } }"
)
PUSH = (
    "mutation Push($input: SyncPushInput!) { syncPush(input: $input) { lastMutationId"
    " results { id status reason } resendFrom serverHlc clockRestamped } }"
)
SIGN_IN = (
    "mutation SignIn($input: SignInInput!) { signIn(input: $input) { __typename "
    "... on AuthPayload { accessToken } ... on InvalidCredentials { message } } }"
)


# ---------------------------------------------------------------------------------------------
# The database: create, migrate, seed once, tidy.


@dataclass(frozen=True)
class Dataset:
    contacts: int
    interactions: int


def database_name(dataset: Dataset, explicit: str | None) -> str:
    if explicit:
        return explicit
    if dataset == Dataset(10_000, 10):
        return "rapport_bench_sync"
    return f"rapport_bench_sync_{dataset.contacts}c_{dataset.interactions}i"


def database_url(name: str) -> str:
    """Return the bench database's URL on the configured server."""
    server = os.environ.get("RAPPORT_DATABASE_URL") or DEFAULT_SERVER
    url = make_url(server).set(drivername="postgresql", database=name)
    return url.render_as_string(hide_password=False)


def _engine(url: str, database: str | None = None) -> AsyncEngine:
    parsed = make_url(url)
    target = parsed.set(drivername="postgresql+asyncpg", database=database or parsed.database)
    return create_async_engine(target, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def _quote(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"use a plain lower-case database name, not {name!r}")
    return f'"{name}"'


async def create_database(url: str) -> None:
    name = make_url(url).database or ""
    engine = _engine(url, "postgres")
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await conn.execute(sa.text(f"CREATE DATABASE {_quote(name)}"))
                print(f"created database {name}", flush=True)
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


async def _owner(conn: Any) -> tuple[uuid.UUID | None, int]:
    """Return the bench user's id (None when absent) and its contact count."""
    row = (
        await conn.execute(
            sa.text(
                "SELECT u.id, (SELECT count(*) FROM contacts AS c WHERE c.owner_id = u.id) AS n"
                " FROM users AS u WHERE u.email = :e"
            ),
            {"e": EMAIL},
        )
    ).first()
    return (None, 0) if row is None else (row.id, int(row.n))


async def remove_pushed(url: str) -> int:
    """Delete the contacts earlier pushes created; return how many."""
    engine = _engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                sa.text(
                    "DELETE FROM contacts WHERE owner_id = (SELECT id FROM users WHERE email = :e)"
                    " AND company = :company AND first_name LIKE 'Bench %'"
                ),
                {"e": EMAIL, "company": PUSH_COMPANY},
            )
            return int(result.rowcount)
    finally:
        await engine.dispose()


async def prepare_data(url: str, dataset: Dataset) -> float | None:
    """Seed the bench user unless present; return the seconds seeding took (None: reused)."""
    from api import seed as seeding

    removed = await remove_pushed(url)
    if removed:
        print(f"removed {removed} contacts left by earlier pushes", flush=True)
    engine = _engine(url)
    try:
        async with engine.connect() as conn:
            owner_id, contacts = await _owner(conn)
            if owner_id is not None and contacts == 0:
                # Signed up, but the seeding transaction did not commit: seed again.
                await conn.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": owner_id})
                print(f"removed half-seeded user {EMAIL}", flush=True)
                owner_id = None
            elif owner_id is not None and contacts != dataset.contacts:
                raise SystemExit(
                    f"{EMAIL} has {contacts} contacts, not {dataset.contacts}: this database"
                    " holds another dataset; pass --database NAME"
                )
    finally:
        await engine.dispose()
    seconds: float | None = None
    if owner_id is None:
        print(
            f"seeding {dataset.contacts} contacts x ~{dataset.interactions} interactions ...",
            flush=True,
        )
        started = time.perf_counter()
        await seeding.seed_database(
            url,
            users=1,
            contacts=dataset.contacts,
            interactions=dataset.interactions,
            email=EMAIL,
            password=PASSWORD,
            random_seed=RANDOM_SEED,
        )
        seconds = time.perf_counter() - started
        print(f"seeded in {seconds:.1f} s", flush=True)
    await vacuum(url)
    return seconds


async def vacuum(url: str) -> None:
    engine = _engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("VACUUM (ANALYZE)"))
    finally:
        await engine.dispose()


async def describe_data(url: str) -> dict[str, Any]:
    engine = _engine(url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text(
                        "SELECT"
                        " (SELECT count(*) FROM contacts c WHERE c.owner_id = u.id) AS contacts,"
                        " (SELECT count(*) FROM interactions i WHERE i.owner_id = u.id)"
                        " AS interactions,"
                        " (SELECT count(*) FROM interaction_participants p"
                        " WHERE p.owner_id = u.id) AS participants,"
                        " (SELECT count(*) FROM users) AS users"
                        " FROM users u WHERE u.email = :e"
                    ),
                    {"e": EMAIL},
                )
            ).one()
            size = await conn.scalar(
                sa.text("SELECT pg_size_pretty(pg_database_size(current_database()))")
            )
            version = await conn.scalar(sa.text("SHOW server_version"))
    finally:
        await engine.dispose()
    return {
        "contacts": int(row.contacts),
        "interactions": int(row.interactions),
        "participants": int(row.participants),
        "users": int(row.users),
        "database_size": size,
        "postgresql": version,
    }


# ---------------------------------------------------------------------------------------------
# Processes: CPU, memory, the listening server process.

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


def _tree(root: int) -> list[int]:
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid in processes:
            found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def listening_pid(root: int, port: int) -> int | None:
    """Return the process under ``root`` that holds the socket listening on ``port``."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[1].rsplit(":", 1)[1] == f"{port:04X}" and parts[3] == "0A":
                inodes.add(parts[9])
    for pid in _tree(root):
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        if any(link.startswith("socket:[") and link[8:-1] in inodes for link in links):
            return pid
    return None


def memory_kib(pid: int) -> dict[str, int]:
    """Return VmRSS and VmHWM (peak RSS) of a process, in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def reset_peak(pid: int) -> bool:
    """Reset a process's VmHWM to its current RSS (Linux >= 4.0); False when not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _machine_ticks() -> tuple[int, int]:
    """Return (busy, total) CPU ticks of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


@dataclass
class CpuSnapshot:
    server: int
    postgres: dict[int, int]
    client: float
    busy: int
    total: int


@dataclass
class CpuUse:
    """CPU seconds used during a phase, and the machine's spare capacity."""

    server: float
    postgres: float
    client: float
    other: float
    machine_busy_share: float


def cpu_snapshot(server_pid: int, database: str) -> CpuSnapshot:
    processes = _processes()
    backends = {
        pid: ticks
        for pid, (command, _, ticks) in processes.items()
        if command.startswith("postgres") and f" {database} " in _cmdline(pid)
    }
    busy, total = _machine_ticks()
    server = processes.get(server_pid, ("", 0, 0))[2]
    return CpuSnapshot(server, backends, time.process_time(), busy, total)


def cpu_use(before: CpuSnapshot, after: CpuSnapshot) -> CpuUse:
    server = (after.server - before.server) / TICK
    postgres = (
        sum(ticks - before.postgres.get(pid, 0) for pid, ticks in after.postgres.items()) / TICK
    )
    client = after.client - before.client
    busy = (after.busy - before.busy) / TICK
    total = max(after.total - before.total, 1)
    return CpuUse(
        server=server,
        postgres=postgres,
        client=client,
        other=max(0.0, busy - server - postgres - client),
        machine_busy_share=(after.busy - before.busy) / total,
    )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---------------------------------------------------------------------------------------------
# The server.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    pid: int
    log: Path


@contextmanager
def serving(url: str, log_dir: Path) -> Iterator[Server]:
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
    log = log_dir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(RAPPORT), "serve", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited:\n{log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not become ready:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        pid = listening_pid(process.pid, port) or process.pid
        yield Server(process, base, pid, log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------------------------------
# GraphQL over HTTP.


@dataclass
class Reply:
    data: dict[str, Any]
    size: int
    request_seconds: float
    parse_seconds: float


def graphql(
    client: httpx.Client, query: str, variables: dict[str, Any], token: str | None = None
) -> Reply:
    body = json.dumps({"query": query, "variables": variables})
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    response = client.post("/graphql", content=body, headers=headers)
    received = time.perf_counter()
    response.raise_for_status()
    # A phone parses with native code; orjson stands in for it, so the client's share of the
    # time is not Python's json module.
    payload: dict[str, Any] = orjson.loads(response.content)
    parsed = time.perf_counter()
    if payload.get("errors"):
        raise SystemExit(f"GraphQL errors: {json.dumps(payload['errors'])[:2000]}")
    return Reply(payload["data"], len(response.content), received - started, parsed - received)


def sign_in(client: httpx.Client) -> str:
    reply = graphql(client, SIGN_IN, {"input": {"email": EMAIL, "password": PASSWORD}})
    result = reply.data["signIn"]
    if result["__typename"] != "AuthPayload":
        raise SystemExit(f"sign-in failed: {result}")
    token: str = result["accessToken"]
    return token


def _client_id() -> str:
    return f"bench-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------------------------
# The measurements.


@dataclass
class PullRun:
    limit: int
    seconds: float
    pages: int
    changes: dict[str, int]
    deleted: int
    megabytes: float
    request_seconds: float
    parse_seconds: float
    slowest_page_seconds: float
    peak_rss_mib: float | None
    rss_after_mib: float
    cpu: CpuUse
    cursor: str = field(repr=False)

    @property
    def total(self) -> int:
        return sum(self.changes.values())


def pull_all(
    client: httpx.Client,
    token: str,
    server: Server,
    database: str,
    limit: int,
    cursor: str | None = None,
) -> PullRun:
    """Pull every page after ``cursor`` with a new client id; measure it."""
    client_id = _client_id()
    counts: Counter[str] = Counter()
    deleted = pages = size = 0
    request = parse = slowest = 0.0
    peak_known = reset_peak(server.pid)
    before = cpu_snapshot(server.pid, database)
    started = time.perf_counter()
    while True:
        reply = graphql(
            client, PULL, {"clientId": client_id, "cursor": cursor, "limit": limit}, token
        )
        page = reply.data["syncPull"]
        if page["reset"]:
            raise SystemExit("the server asked for a reset during a pull")
        pages += 1
        size += reply.size
        request += reply.request_seconds
        parse += reply.parse_seconds
        slowest = max(slowest, reply.request_seconds + reply.parse_seconds)
        for change in page["changes"]:
            counts[change["entity"]] += 1
            deleted += change["deleted"]
        cursor = page["cursor"]
        if not page["hasMore"]:
            break
    seconds = time.perf_counter() - started
    after = cpu_snapshot(server.pid, database)
    memory = memory_kib(server.pid)
    assert cursor is not None
    return PullRun(
        limit=limit,
        seconds=seconds,
        pages=pages,
        changes=dict(counts),
        deleted=deleted,
        megabytes=size / 1e6,
        request_seconds=request,
        parse_seconds=parse,
        slowest_page_seconds=slowest,
        peak_rss_mib=memory["VmHWM"] / 1024 if peak_known else None,
        rss_after_mib=memory["VmRSS"] / 1024,
        cpu=cpu_use(before, after),
        cursor=cursor,
    )


@dataclass
class EmptyPulls:
    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    cpu: CpuUse

    def per_request_ms(self, seconds: float) -> float:
        return 1000 * seconds / max(self.count, 1)


def _percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def empty_pulls(
    client: httpx.Client, token: str, server: Server, database: str, cursor: str, count: int
) -> EmptyPulls:
    client_id = _client_id()
    variables = {"clientId": client_id, "cursor": cursor, "limit": 500}
    body = orjson.dumps({"query": PULL, "variables": variables})
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    # The request is prepared once and sent over one keep-alive http.client connection:
    # httpx spends about 2 ms of client CPU per request, which on two cores would be
    # measured as server latency.
    url = httpx.URL(server.base)
    connection = http.client.HTTPConnection(url.host, url.port)
    latencies: list[float] = []
    before = cpu_snapshot(server.pid, database)
    for _ in range(count):
        started = time.perf_counter()
        connection.request("POST", "/graphql", body, headers)
        reply = connection.getresponse().read()
        latencies.append((time.perf_counter() - started) * 1000)
        page = orjson.loads(reply)["data"]["syncPull"]
        if page["changes"] or page["hasMore"] or page["reset"]:
            raise SystemExit(f"an incremental pull was not empty: {reply[:500]!r}")
    after = cpu_snapshot(server.pid, database)
    connection.close()
    ordered = sorted(latencies)
    return EmptyPulls(
        count=count,
        p50_ms=_percentile(ordered, 0.50),
        p90_ms=_percentile(ordered, 0.90),
        p99_ms=_percentile(ordered, 0.99),
        max_ms=ordered[-1],
        mean_ms=sum(ordered) / len(ordered),
        cpu=cpu_use(before, after),
    )


@dataclass
class PushRun:
    first_id: int
    last_id: int
    seconds: float
    statuses: dict[str, int]
    request_megabytes: float
    cpu: CpuUse


def push_body(client_id: str, first_id: int) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    mutations = [
        {
            "id": first_id + n,
            "name": "contact.put",
            "args": {
                "id": str(uuid.uuid4()),
                "fields": {"firstName": f"Bench {first_id + n}", "company": PUSH_COMPANY},
                "hlc": f"{now_ms:015d}-{n:05d}-benchdevice",
            },
        }
        for n in range(PUSH_SIZE)
    ]
    return {"input": {"clientId": client_id, "schemaVersion": 1, "mutations": mutations}}


def push_once(
    client: httpx.Client, token: str, server: Server, database: str, client_id: str, first: int
) -> PushRun:
    variables = push_body(client_id, first)
    before = cpu_snapshot(server.pid, database)
    started = time.perf_counter()
    reply = graphql(client, PUSH, variables, token)
    seconds = time.perf_counter() - started
    after = cpu_snapshot(server.pid, database)
    result = reply.data["syncPush"]
    statuses = Counter(r["status"] for r in result["results"])
    last = first + PUSH_SIZE - 1
    if statuses != Counter({"APPLIED": PUSH_SIZE}) or result["lastMutationId"] != last:
        reasons = {r["reason"] for r in result["results"] if r["reason"]}
        raise SystemExit(
            f"push {first}..{last}: {dict(statuses)}, lastMutationId"
            f" {result['lastMutationId']}, reasons {sorted(reasons)[:5]}"
        )
    size = len(json.dumps(variables)) / 1e6
    return PushRun(first, last, seconds, dict(statuses), size, cpu_use(before, after))


# ---------------------------------------------------------------------------------------------
# Profiling the server with py-spy (optional).


def _py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextmanager
def recording(pid: int, output: Path) -> Iterator[None]:
    """Sample the server's stacks (``py-spy record --format raw``) while the block runs."""
    spy = _py_spy()
    if spy is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    command = [spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw"]
    process = subprocess.Popen(
        [*command, "--nonblocking", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)  # py-spy attaches before the measured work starts
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
        if not output.exists():
            raise SystemExit(f"py-spy wrote no profile: {errors.decode()[-2000:]}")


_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
PROJECT = ("api", "schema", "store", "sync")
# The event loop's own frame on top of the stack: waiting for I/O, or in C code (uvloop).
LOOP = "Runner.run (asyncio/runners.py"


def _area(path: str) -> str:
    """Name the package a source file belongs to (py-spy prints paths relative to sys.path)."""
    parts = Path(path).parts
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1 :]
    if not parts:
        return "?"
    if parts[0] in PROJECT:
        return f"rapport:{parts[0]}"
    return parts[0].removesuffix(".py")


def summarise_profile(raw: Path, top: int = 20) -> dict[str, Any]:
    """Self time per package and function, inclusive time per project function (% of samples)."""
    own_area: Counter[str] = Counter()
    own_function: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if f]
        names: set[str] = set()
        for frame in frames:
            match = _FRAME.match(frame)
            if match is not None and match["file"].split("/")[0] in PROJECT:
                names.add(f"{match['function']} ({match['file']})")
        for name in names:
            inclusive[name] += count
        leaf = frames[-1] if frames else ""
        match = _FRAME.match(leaf)
        if leaf.startswith(LOOP):
            area = function = "event loop (idle, or in C: uvloop, asyncpg protocol)"
        elif match is not None:
            area = _area(match["file"])
            function = f"{match['function']} ({match['file']})"
        else:
            area = function = leaf or "?"
        own_area[area] += count
        own_function[function] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / max(total, 1), 1)) for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "self_by_area_percent": shares(own_area),
        "self_by_function_percent": shares(own_function),
        "inclusive_project_percent": shares(inclusive),
    }


# ---------------------------------------------------------------------------------------------
# Reporting.


def _cpu_text(cpu: CpuUse) -> str:
    return (
        f"CPU s: server {cpu.server:.2f}, postgres {cpu.postgres:.2f}, client {cpu.client:.2f},"
        f" other {cpu.other:.2f}; machine {100 * cpu.machine_busy_share:.0f}% busy"
    )


def print_pull(run: PullRun, label: str = "") -> None:
    peak = f"{run.peak_rss_mib:.0f} MiB" if run.peak_rss_mib is not None else "unknown"
    print(
        f"  {label}limit {run.limit:>5}: {run.seconds:6.2f} s, {run.pages:>4} pages,"
        f" {run.total} changes {run.changes}, {run.megabytes:.1f} MB;"
        f" requests {run.request_seconds:.2f} s + client JSON {run.parse_seconds:.2f} s,"
        f" slowest page {1000 * run.slowest_page_seconds:.0f} ms;"
        f" peak server RSS {peak} (after {run.rss_after_mib:.0f} MiB)",
        flush=True,
    )
    print(f"      {_cpu_text(run.cpu)}", flush=True)


def print_empty(empty: EmptyPulls, label: str = "") -> None:
    print(
        f"{label}empty incremental pull x{empty.count}: p50 {empty.p50_ms:.2f} ms,"
        f" p90 {empty.p90_ms:.2f} ms, p99 {empty.p99_ms:.2f} ms,"
        f" max {empty.max_ms:.2f} ms, mean {empty.mean_ms:.2f} ms; per request:"
        f" server CPU {empty.per_request_ms(empty.cpu.server):.2f} ms,"
        f" postgres CPU {empty.per_request_ms(empty.cpu.postgres):.2f} ms,"
        f" client CPU {empty.per_request_ms(empty.cpu.client):.2f} ms;"
        f" machine {100 * empty.cpu.machine_busy_share:.0f}% busy",
        flush=True,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--interactions", type=int, default=10, help="per contact, on average")
    parser.add_argument("--limits", type=int, nargs="+", default=[500, 2000, 5000])
    parser.add_argument("--repeat", type=int, default=2, help="initial syncs per limit")
    parser.add_argument("--empty-pulls", type=int, default=200)
    parser.add_argument("--pushes", type=int, default=3)
    parser.add_argument("--database", help="database name (default rapport_bench_sync)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--profile", type=Path, help="py-spy the server; raw stacks go here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    dataset = Dataset(args.contacts, args.interactions)
    name = database_name(dataset, args.database)
    url = database_url(name)
    results: dict[str, Any] = {"database": name, "load_average_start": load_average()}

    async def prepare() -> tuple[float | None, dict[str, Any]]:
        await create_database(url)
        await migrate(url)
        seeded = await prepare_data(url, dataset)
        return seeded, await describe_data(url)

    seeded, data = asyncio.run(prepare())
    results.update(seed_seconds=seeded, data=data)
    print(
        f"database {name}: {data['contacts']} contacts, {data['interactions']} interactions,"
        f" {data['participants']} participants ({data['database_size']},"
        f" PostgreSQL {data['postgresql']}); load average {results['load_average_start']}",
        flush=True,
    )

    runs: list[PullRun] = []
    with tempfile.TemporaryDirectory() as scratch, serving(url, Path(scratch)) as server:
        timeout = httpx.Timeout(300.0, connect=10.0)
        with httpx.Client(base_url=server.base, timeout=timeout) as client:
            token = sign_in(client)
            idle = memory_kib(server.pid)
            results["server"] = {
                "pid": server.pid,
                "launcher_pid": server.process.pid,
                "rss_idle_mib": idle["VmRSS"] / 1024,
            }
            print(
                f"server pid {server.pid} (launched {server.process.pid}),"
                f" idle RSS {idle['VmRSS'] / 1024:.0f} MiB",
                flush=True,
            )

            print("initial sync (warm-up, not counted):", flush=True)
            warm = pull_all(client, token, server, name, max(args.limits))
            print_pull(warm, "warm-up ")
            print("initial sync:", flush=True)
            for limit in args.limits:
                for _ in range(args.repeat):
                    run = pull_all(client, token, server, name, limit)
                    print_pull(run)
                    runs.append(run)
            results["initial_sync"] = [
                {**asdict(run), "total": run.total, "cursor": None} for run in runs
            ]
            cursor = runs[-1].cursor if runs else warm.cursor

            empty = empty_pulls(client, token, server, name, cursor, args.empty_pulls)
            results["empty_pull"] = asdict(empty)
            print_empty(empty)

            pushes: list[PushRun] = []
            push_client = _client_id()
            for n in range(args.pushes):
                push = push_once(client, token, server, name, push_client, n * PUSH_SIZE + 1)
                pushes.append(push)
                print(
                    f"push of {PUSH_SIZE} contact.put ({push.first_id}..{push.last_id}):"
                    f" {push.seconds:.3f} s, {push.statuses},"
                    f" {push.request_megabytes:.2f} MB request; {_cpu_text(push.cpu)}",
                    flush=True,
                )
            results["push"] = [asdict(p) for p in pushes]
            if pushes:
                after_push = pull_all(client, token, server, name, 500, cursor)
                print_pull(after_push, "pull of the pushed contacts, ")
                results["pull_after_push"] = {
                    **asdict(after_push),
                    "total": after_push.total,
                    "cursor": None,
                }

            if args.profile is not None:
                args.profile.mkdir(parents=True, exist_ok=True)
                limit = max(args.limits)
                raw = args.profile / f"pull-{limit}.txt"
                with recording(server.pid, raw):
                    profiled = pull_all(client, token, server, name, limit)
                print_pull(profiled, "profiled ")
                pull_profile = summarise_profile(raw)
                raw_empty = args.profile / "empty-pull.txt"
                with recording(server.pid, raw_empty):
                    profiled_empty = empty_pulls(client, token, server, name, profiled.cursor, 1000)
                print_empty(profiled_empty, "profiled ")
                empty_profile = summarise_profile(raw_empty)
                raw_push = args.profile / "push.txt"
                with recording(server.pid, raw_push):
                    first = args.pushes * PUSH_SIZE + 1
                    profiled_push = push_once(client, token, server, name, push_client, first)
                print(f"profiled push: {profiled_push.seconds:.3f} s", flush=True)
                push_profile = summarise_profile(raw_push)
                results["profile"] = {
                    "pull": pull_profile,
                    "push": push_profile,
                    "empty_pull": empty_profile,
                }
                profiles = (
                    ("initial sync", pull_profile),
                    ("push", push_profile),
                    ("empty pull", empty_profile),
                )
                for label, summary in profiles:
                    print(f"profile of the {label} ({summary['samples']} samples):")
                    for key in (
                        "self_by_area_percent",
                        "self_by_function_percent",
                        "inclusive_project_percent",
                    ):
                        print(f"  {key}:")
                        for entry, share in summary[key]:
                            print(f"    {share:5.1f}%  {entry}")

            # Each pass reset VmHWM, so the peak of the whole run is the greatest of theirs.
            passes = [warm, *runs]
            if pushes:
                passes.append(after_push)
            peaks = [r.peak_rss_mib for r in passes if r.peak_rss_mib is not None]
            peak = max([*peaks, memory_kib(server.pid)["VmHWM"] / 1024])
            results["server"]["peak_rss_mib"] = peak
            print(f"peak server RSS over the run: {peak:.0f} MiB", flush=True)

    results["load_average_end"] = load_average()
    removed = asyncio.run(remove_pushed(url))
    print(
        f"removed the {removed} pushed contacts; load average {results['load_average_end']}",
        flush=True,
    )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
