"""Benchmark the export: is memory flat as interactions grow? (issue 16: 100,000 interactions)

Run from the repository root::

    .venv/bin/python bench/export.py [--interactions 100000] [--keep]

What it does:

1. Creates the database ``rapport_bench_export`` on the server named by ``RAPPORT_DATABASE_URL``
   (only its server is used; default ``postgresql://postgres@127.0.0.1:5432/``), migrates it,
   and seeds two users with ``api.seed.seed_database``: ``small@bench.rapport`` (100 contacts,
   about 1,000 interactions) and ``large@bench.rapport`` (1,000 contacts, about
   ``--interactions`` interactions). With ``--keep`` a database seeded before is reused.
2. Serves the app in this process (uvicorn). For each user, small first, then large, then small
   again: signs in, asks ``requestExport`` for a link, and downloads the zip with httpx,
   streaming, counting bytes and throwing them away (so the client holds nothing).
3. Reports for each download the wall time, the zip's size, and the growth of this process's
   peak resident memory (VmHWM, reset through ``/proc/self/clear_refs`` before each download)
   over its resident memory just before. Server and client share the process, so the figure
   bounds the server's growth from above.

Nothing here asserts; the numbers go to ``bench/RESULTS.md`` by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.seed import seed_database  # noqa: E402
from api.settings import Settings  # noqa: E402
from store import migrate  # noqa: E402
from store.engine import create_engine  # noqa: E402

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/"
DATABASE = "rapport_bench_export"
SECRET_KEY = "bench-export-only-secret-key-not-for-production-0123456789"  # noqa: S105
PASSWORD = "bench-password-123"  # noqa: S105 - the generated bench users only
SIGN_IN = (
    "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) "
    "{ ... on AuthPayload { accessToken } } }"
)
REQUEST = "mutation { requestExport { url } }"


def memory_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> None:
    """Set VmHWM to the current VmRSS (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


async def prepare(keep: bool, interactions: int) -> str:
    server = os.environ.get("RAPPORT_DATABASE_URL") or DEFAULT_SERVER
    url = make_url(server).set(drivername="postgresql", database=DATABASE)
    rendered = url.render_as_string(hide_password=False)
    admin = create_async_engine(
        make_url(server).set(drivername="postgresql+asyncpg", database="postgres"),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
    )
    async with admin.connect() as conn:
        exists = await conn.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
            {"n": DATABASE},
        )
        if exists and keep:
            await admin.dispose()
            return rendered
        await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await conn.exec_driver_sql(f'CREATE DATABASE "{DATABASE}"')
    await admin.dispose()
    engine = create_engine(rendered, pool_size=1)
    await migrate.upgrade(engine)
    await engine.dispose()
    for email, contacts, per_contact in (
        ("small@bench.rapport", 100, 10),
        ("large@bench.rapport", 1_000, max(interactions // 1_000, 1)),
    ):
        await seed_database(
            rendered,
            users=1,
            contacts=contacts,
            interactions=per_contact,
            email=email,
            password=PASSWORD,
            random_seed=16,
        )
    return rendered


async def export_once(http: httpx.AsyncClient, email: str) -> tuple[float, int, int]:
    signed = await http.post(
        "/graphql", json={"query": SIGN_IN, "variables": {"e": email, "p": PASSWORD}}
    )
    token = signed.json()["data"]["signIn"]["accessToken"]
    link = await http.post(
        "/graphql", json={"query": REQUEST}, headers={"Authorization": f"Bearer {token}"}
    )
    url = link.json()["data"]["requestExport"]["url"]
    reset_peak()
    before = memory_kib("VmRSS")
    started = time.perf_counter()
    size = 0
    async with http.stream("GET", url) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            size += len(chunk)
    elapsed = time.perf_counter() - started
    return elapsed, size, memory_kib("VmHWM") - before


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="reuse a seeded database")
    args = parser.parse_args()
    url = await prepare(args.keep, args.interactions)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            secret_key=SECRET_KEY,
            data_dir=Path(data_dir),
            password_hash_profile="cheapest",  # noqa: S106
            worker_in_process=False,
            playground=False,
            log_level="WARNING",
        )
        app = create_app(settings, database_url=url)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", loop="uvloop")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=600) as http:
            for email in ("small@bench.rapport", "large@bench.rapport", "small@bench.rapport"):
                elapsed, size, growth = await export_once(http, email)
                print(
                    f"{email}: {elapsed:.2f} s, zip {size / 1e6:.1f} MB, "
                    f"peak RSS growth {growth / 1024:.1f} MiB (RSS now "
                    f"{memory_kib('VmRSS') / 1024:.0f} MiB), load average "
                    f"{os.getloadavg()[0]:.1f}"
                )
        server.should_exit = True
        await task


if __name__ == "__main__":
    asyncio.run(main())
