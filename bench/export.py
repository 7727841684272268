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
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api.seed import seed_database  # noqa: E402
from bench import harness  # noqa: E402

DATABASE = "rapport_bench_export"
SECRET_KEY = "bench-export-only-secret-key-not-for-production-0123456789"  # noqa: S105
PASSWORD = "bench-password-123"  # noqa: S105 - the generated bench users only
SIGN_IN = (
    "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) "
    "{ ... on AuthPayload { accessToken } } }"
)
REQUEST = "mutation { requestExport { url } }"


async def prepare(keep: bool, interactions: int) -> str:
    url = harness.database_url(DATABASE)
    if keep and await harness.database_exists(url):
        return url
    await harness.ready_database(url, drop_first=True)
    for email, contacts, per_contact in (
        ("small@bench.rapport", 100, 10),
        ("large@bench.rapport", 1_000, max(interactions // 1_000, 1)),
    ):
        await seed_database(
            url,
            users=1,
            contacts=contacts,
            interactions=per_contact,
            email=email,
            password=PASSWORD,
            random_seed=16,
        )
    return url


async def export_once(http: httpx.AsyncClient, email: str) -> tuple[float, int, float]:
    signed = await http.post(
        "/graphql", json={"query": SIGN_IN, "variables": {"e": email, "p": PASSWORD}}
    )
    token = signed.json()["data"]["signIn"]["accessToken"]
    link = await http.post(
        "/graphql", json={"query": REQUEST}, headers={"Authorization": f"Bearer {token}"}
    )
    url = link.json()["data"]["requestExport"]["url"]
    me = [os.getpid()]
    harness.reset_peak_rss(me)
    before = harness.rss_mib(me[0])
    started = time.perf_counter()
    size = 0
    async with http.stream("GET", url) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            size += len(chunk)
    elapsed = time.perf_counter() - started
    peak = harness.peak_rss_mib(me)
    assert peak is not None
    return elapsed, size, peak - before


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="reuse a seeded database")
    args = parser.parse_args()
    url = await prepare(args.keep, args.interactions)
    async with harness.serving_in_process(url, secret_key=SECRET_KEY, request_seconds=600) as http:
        for email in ("small@bench.rapport", "large@bench.rapport", "small@bench.rapport"):
            elapsed, size, growth = await export_once(http, email)
            print(
                f"{email}: {elapsed:.2f} s, zip {size / 1e6:.1f} MB, "
                f"peak RSS growth {growth:.1f} MiB (RSS now "
                f"{harness.rss_mib(os.getpid()):.0f} MiB), load average "
                f"{harness.load_average()}"
            )


if __name__ == "__main__":
    asyncio.run(main())
