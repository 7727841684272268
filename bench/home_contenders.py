"""The contenders: Rapport under uvicorn, PostGraphile 5, and pgbench, each started for its runs."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench import harness
from bench.home_answer import HOME_BODY, POSTGRAPHILE_QUERY, post_home, run_statement, sign_in

BENCH = Path(__file__).resolve().parent
# PostGraphile 5 and the Node >= 22 it needs, both from bench/package.json (npm ci in bench/).
NODE = BENCH / "node_modules" / "node" / "bin" / "node"
POSTGRAPHILE = BENCH / "postgraphile.mjs"
SECRET_KEY = "bench-only-secret-key-not-for-production-use-0123456789"  # noqa: S105
TOKEN_TTL_SECONDS = 7 * 24 * 3600


@contextmanager
def serving(
    url: str, workers: int, log_path: Path, pool_size: int
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run ``rapport serve`` as production would, until the block ends."""
    # A connection for every concurrent request, as PostGraphile gets: overflow connections
    # are closed on return, and reopening them cost more than the requests (RESULTS.md).
    # This is per worker.
    pool = {"RAPPORT_DB_POOL_SIZE": str(pool_size)}
    with harness.serving_rapport(
        url,
        log_path,
        workers=workers,
        secret_key=SECRET_KEY,
        token_ttl_seconds=TOKEN_TTL_SECONDS,
        env=pool,
    ) as (process, base, _):
        yield process, base


@contextmanager
def serving_postgraphile(
    url: str, log_path: Path, pool_size: int
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run PostGraphile 5 (bench/postgraphile.mjs) on the bench_graphile views."""
    if not NODE.exists():
        raise SystemExit(f"{NODE} is missing: run `npm ci` in bench/ (make bench-home does)")
    port = harness.free_port()
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

    with harness.running([str(NODE), str(POSTGRAPHILE)], env, BENCH, log_path, ready) as process:
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
