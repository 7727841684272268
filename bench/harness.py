"""What the bench scripts share: the bench database, a free port, percentiles, servers (a
``rapport serve`` subprocess, or the app in the bench's own process), and processes.

Processes are read through psutil (CPU seconds, command lines, trees, sockets, RSS), except a
process's peak RSS: Linux keeps it as VmHWM in ``/proc/<pid>/status`` and resets it through
``/proc/<pid>/clear_refs``, neither of which psutil offers.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/"
RAPPORT = Path(sys.executable).parent / "rapport"


# ---------------------------------------------------------------------------------------------
# The bench database: on the server RAPPORT_DATABASE_URL names, created and migrated once.


def database_url(name: str) -> str:
    """Return the URL of database ``name`` on the configured server."""
    server = os.environ.get("RAPPORT_DATABASE_URL") or DEFAULT_SERVER
    url = make_url(server).set(drivername="postgresql", database=name)
    return url.render_as_string(hide_password=False)


def admin_engine(url: str, database: str | None = None) -> AsyncEngine:
    """An engine without a pool, in autocommit, on ``url``'s database or on ``database``."""
    parsed = make_url(url)
    target = parsed.set(drivername="postgresql+asyncpg", database=database or parsed.database)
    return create_async_engine(target, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def quote_name(name: str) -> str:
    """Quote a database name for SQL; only plain lower-case names are taken."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"use a plain lower-case database name, not {name!r}")
    return f'"{name}"'


@asynccontextmanager
async def connection(url: str, database: str | None = None) -> AsyncIterator[AsyncConnection]:
    """An autocommit connection to ``url``'s database (or ``database``), closed with its engine."""
    engine = admin_engine(url, database)
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


async def create_database(url: str, *, drop_first: bool = False) -> None:
    """Create ``url``'s database unless it exists (first dropping it if asked)."""
    name = make_url(url).database
    assert name is not None
    async with connection(url, "postgres") as conn:
        if drop_first:
            await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quote_name(name)} WITH (FORCE)"))
        exists = await conn.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            await conn.execute(sa.text(f"CREATE DATABASE {quote_name(name)}"))
            print(f"created database {name}", flush=True)


async def migrate(url: str) -> None:
    """Apply the project's migrations to ``url``'s database."""
    from store import migrate as migrations
    from store.engine import create_engine

    engine = create_engine(url, pool_size=1)
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()


async def database_exists(url: str) -> bool:
    """Whether ``url``'s database exists on its server."""
    async with connection(url, "postgres") as conn:
        found = await conn.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
            {"name": make_url(url).database},
        )
    return found is not None


async def ready_database(url: str, *, drop_first: bool = False) -> None:
    """Create ``url``'s database unless it exists (first dropping it if asked) and migrate it."""
    await create_database(url, drop_first=drop_first)
    await migrate(url)


async def vacuum(url: str) -> float:
    """Run ``VACUUM (ANALYZE)`` on ``url``'s database; return the seconds it took."""
    started = time.perf_counter()
    async with connection(url) as conn:
        await conn.execute(sa.text("VACUUM (ANALYZE)"))
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# Ports and percentiles.


def free_port() -> int:
    """Return a loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values: the least with ``share`` of them at or
    below it (no interpolation)."""
    return ordered[max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))]


# ---------------------------------------------------------------------------------------------
# Servers: run one until a block ends.


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
def serving_rapport(
    url: str,
    log_path: Path,
    *,
    workers: int,
    secret_key: str,
    token_ttl_seconds: int,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], str, int]]:
    """Run ``rapport serve`` as production would; yield the process, its base URL, its port."""
    port = free_port()
    environment = {
        **os.environ,
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_ENV": "production",
        "RAPPORT_SECRET_KEY": secret_key,
        "RAPPORT_LOG_LEVEL": "warning",
        "RAPPORT_ACCESS_TOKEN_TTL_SECONDS": str(token_ttl_seconds),
        # One user drives thousands of requests a minute: measure the server, not its limit.
        "RAPPORT_REQUEST_LIMIT": "100000000",
        **(env or {}),
    }
    base = f"http://127.0.0.1:{port}"
    command = [str(RAPPORT), "serve", "--port", str(port), "--workers", str(workers)]

    def ready() -> bool:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200

    with running(command, environment, ROOT, log_path, ready) as process:
        yield process, base, port


@asynccontextmanager
async def serving_in_process(
    url: str, *, secret_key: str, request_seconds: float
) -> AsyncIterator[httpx.AsyncClient]:
    """Serve the app in this process (uvicorn on a free port, a cheap password hash, no
    notification worker); yield an HTTP client on it, with ``request_seconds`` seconds a request."""
    import uvicorn

    from api.app import create_app
    from api.settings import (
        AuthSettings,
        DatabaseSettings,
        GraphQLSettings,
        Settings,
        WorkerSettings,
    )

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            auth=AuthSettings(
                secret_key=secret_key,
                password_hash_profile="cheapest",  # noqa: S106 - the bench process only
            ),
            database=DatabaseSettings(data_dir=Path(data_dir)),
            worker=WorkerSettings(in_process=False),
            graphql=GraphQLSettings(playground=False),
        )
        app = create_app(settings, database_url=url)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", loop="uvloop")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:  # uvicorn offers no event to wait on
                if task.done():
                    await task  # raises what stopped it
                    raise SystemExit("the in-process server stopped before it started")
                await asyncio.sleep(0.05)
            port = server.servers[0].sockets[0].getsockname()[1]
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=request_seconds) as http:
                yield http
        finally:
            server.should_exit = True
            await task


# ---------------------------------------------------------------------------------------------
# Processes: CPU seconds, trees, the listening server process, memory.


@dataclass
class CpuSnapshot:
    """CPU seconds at one moment: a server's process tree, the bench database's backends,
    every process, this process, and the whole machine (busy and in all)."""

    server: dict[int, float]
    postgres: dict[int, float]
    everyone: dict[int, float]
    client: float
    busy: float
    total: float


def command_line(pid: int) -> str:
    """Return a process's command line, or "" when it is gone."""
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def cpu_seconds(pid: int) -> float:
    """Return a process's user and system CPU seconds, or 0 when it is gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def process_tree(root: int) -> list[int]:
    """Return a process and its living descendants (none when it is gone)."""
    try:
        process = psutil.Process(root)
        return [root, *(child.pid for child in process.children(recursive=True))]
    except psutil.Error:
        return []


def cpu_snapshot(server_pid: int | None, database: str) -> CpuSnapshot:
    """Take the CPU seconds of ``server_pid``'s tree (none for no server) and of the rest."""
    everyone: dict[int, float] = {}
    postgres: dict[int, float] = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is None:
            continue
        seconds = float(times.user + times.system)
        everyone[process.pid] = seconds
        if (process.info["name"] or "").startswith("postgres") and (
            f" {database} " in command_line(process.pid)
        ):
            postgres[process.pid] = seconds
    tree = [] if server_pid is None else process_tree(server_pid)
    server = {pid: everyone[pid] for pid in tree if pid in everyone}
    busy, total = machine_cpu_seconds()
    return CpuSnapshot(server, postgres, everyone, time.process_time(), busy, total)


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes of ``after`` used since ``before`` (all of it if new)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def machine_cpu_seconds() -> tuple[float, float]:
    """Return (busy, total) CPU seconds of the whole machine since boot."""
    times = psutil.cpu_times()
    fields = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    total = sum(getattr(times, name, 0.0) for name in fields)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def listening_pid(root: int, port: int) -> int | None:
    """Return the process in ``root``'s tree that holds the socket listening on ``port``."""
    for pid in process_tree(root):
        try:
            sockets = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            continue
        if any(s.status == psutil.CONN_LISTEN and s.laddr.port == port for s in sockets):
            return pid
    return None


def rss_mib(pid: int) -> float:
    """Return a process's resident memory, in MiB."""
    return psutil.Process(pid).memory_info().rss / 1024 / 1024


def reset_peak_rss(pids: list[int]) -> bool:
    """Reset each process's VmHWM to its current RSS (Linux >= 4.0); False when not allowed."""
    try:
        for pid in pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib(pids: list[int]) -> float | None:
    """Return the greatest VmHWM among the processes: the busiest one's peak, in MiB."""
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


def load_average() -> str:
    """The machine's load averages over 1, 5 and 15 minutes, as text."""
    return " ".join(f"{load:.2f}" for load in psutil.getloadavg())
