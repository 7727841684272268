"""Benchmark the insights: suggestions and starters on a large account, and sentiment scoring.

Run from the repository root::

    .venv/bin/python bench/insight_reads.py [--contacts 10000 --interactions 10] [--requests 50]
                                       [--database NAME] [--json PATH]

What it does:

1. Creates (or reuses) the database ``rapport_bench_insights`` on the PostgreSQL server named
   by ``RAPPORT_DATABASE_URL`` (only its server is used), else on
   ``postgresql://postgres@127.0.0.1:5432/``; migrates it; and, unless the user
   ``insights@bench.rapport`` exists, seeds it with ``api.seed.seed_database`` (1 user,
   ``--contacts`` contacts with 0-3 of 20 interests and generated job titles, about
   ``--interactions`` interactions each over two years; every interaction is scored for
   sentiment on the write path while seeding). Then ``VACUUM (ANALYZE)``.
2. Sentiment throughput: scores the summary and body of 20,000 of the seeded interactions with
   ``insights.sentiment.score_text`` in this process, one core, and reports interactions/s.
3. Starts ``rapport serve --workers 1`` as in production and signs in; this process is the
   client (httpx, one keep-alive connection). After 5 unmeasured warm-up requests each, sends
   ``--requests`` sequential requests of each operation and reports p50/p90/max wall time:
   ``reconnectSuggestions(first: 20)``, ``introductionSuggestions(first: 20)`` twice (each
   request right after an untimed ``updateContact``, so the server's cached introduction
   index is stale and rebuilt, as after any edit; then repeated requests, which reuse it), and
   ``conversationStarters(contactId, first: 10)`` (over the 50 contacts with the most
   interactions, in turn).

Nothing here asserts timings; the numbers go to ``bench/RESULTS.md`` by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/insight_reads.py``, this file's folder comes first on sys.path, where
# a bench module named like one of the project's packages would shadow it: search the
# repository root instead (tests/unit/test_bench_names.py keeps the names apart).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench import harness  # noqa: E402
from bench import sync_client as common  # noqa: E402

EMAIL = "insights@bench.rapport"
PASSWORD = "bench-password-123"  # noqa: S105 - the generated bench user only
RANDOM_SEED = 6
SCORED_SAMPLE = 20_000

RECONNECT = (
    "query { reconnectSuggestions(first: 20) { contact { id displayName } priority overdueDays"
    " reasons health { score bucket } } }"
)
INTRODUCTIONS = (
    "query { introductionSuggestions(first: 20) { contactA { id displayName }"
    " contactB { id displayName } score reasons } }"
)
STARTERS = (
    "query($c: ID!) { conversationStarters(contactId: $c, first: 10) { __typename"
    " ... on ConversationStarters { starters { text source fact } } } }"
)


async def _user_exists(url: str) -> bool:
    async with harness.connection(url) as conn:
        found = await conn.scalar(
            sa.text("SELECT 1 FROM users WHERE email = :email"), {"email": EMAIL}
        )
        return found is not None


async def prepare(url: str, contacts: int, interactions: int) -> float | None:
    """Create, migrate and seed the database once; return the seeding time (None: reused)."""
    from api.seed import seed_database

    await harness.ready_database(url)
    if await _user_exists(url):
        return None
    started = time.perf_counter()
    await seed_database(
        url,
        users=1,
        contacts=contacts,
        interactions=interactions,
        email=EMAIL,
        password=PASSWORD,
        random_seed=RANDOM_SEED,
    )
    seconds = time.perf_counter() - started
    await harness.vacuum(url)
    return seconds


async def describe(url: str) -> dict[str, Any]:
    async with harness.connection(url) as conn:
        row = (
            await conn.execute(
                sa.text(
                    "SELECT (SELECT count(*) FROM contacts) AS contacts,"
                    " (SELECT count(*) FROM interactions) AS interactions,"
                    " (SELECT count(*) FROM interactions WHERE sentiment IS NOT NULL)"
                    " AS scored,"
                    " pg_size_pretty(pg_database_size(current_database())) AS size"
                )
            )
        ).one()
        texts = (
            await conn.execute(
                sa.text("SELECT summary, body FROM interactions ORDER BY id LIMIT :n"),
                {"n": SCORED_SAMPLE},
            )
        ).all()
        busiest = (
            await conn.scalars(
                sa.text(
                    "SELECT contact_id FROM interaction_participants GROUP BY contact_id"
                    " ORDER BY count(*) DESC, contact_id LIMIT 50"
                )
            )
        ).all()
    return {
        "contacts": row.contacts,
        "interactions": row.interactions,
        "scored": row.scored,
        "size": row.size,
        "texts": [(t.summary, t.body) for t in texts],
        "busiest": [str(c) for c in busiest],
    }


def scoring_rate(texts: list[tuple[str, str | None]]) -> float:
    """Interactions scored per second by the write path's scorer, in this process."""
    from insights import sentiment

    sentiment.score_text("warm up the lexicon")
    started = time.perf_counter()
    for summary, body in texts:
        sentiment.score_text(summary, body)
    return len(texts) / (time.perf_counter() - started)


def sign_in(client: httpx.Client) -> str:
    reply = common.graphql(
        client, common.SIGN_IN, {"input": {"email": EMAIL, "password": PASSWORD}}
    )
    result = reply.data["signIn"]
    if result["__typename"] != "AuthPayload":
        raise SystemExit(f"sign-in failed: {result}")
    token: str = result["accessToken"]
    return token


TOUCH = (
    "mutation($c: ID!, $notes: String!) { updateContact(id: $c, input: {notes: $notes})"
    " { __typename } }"
)


def measure(
    client: httpx.Client,
    token: str,
    query: str,
    variables: list[dict[str, Any]],
    requests: int,
    *,
    touch: str | None = None,
) -> dict[str, Any]:
    for n in range(5):
        common.graphql(client, query, variables[n % len(variables)], token)
    times = []
    last: dict[str, Any] = {}
    for n in range(requests):
        if touch is not None:
            # A write first (not timed): the server's cached index is stale, as after any edit.
            common.graphql(client, TOUCH, {"c": touch, "notes": f"bench {n}"}, token)
        started = time.perf_counter()
        reply = common.graphql(client, query, variables[n % len(variables)], token)
        times.append(time.perf_counter() - started)
        last = reply.data
    times.sort()
    return {
        "p50_ms": statistics.median(times) * 1000,
        "p90_ms": times[int(0.9 * (len(times) - 1))] * 1000,
        "max_ms": times[-1] * 1000,
        "sample": last,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--interactions", type=int, default=10)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--database", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    name = args.database or (
        "rapport_bench_insights"
        if (args.contacts, args.interactions) == (10_000, 10)
        else f"rapport_bench_insights_{args.contacts}c_{args.interactions}i"
    )
    url = harness.database_url(name)
    seeded = asyncio.run(prepare(url, args.contacts, args.interactions))
    if seeded is not None:
        print(f"seeded in {seeded:.1f} s (sentiment scored on the write path)", flush=True)
    data = asyncio.run(describe(url))
    print(
        f"dataset {name}: {data['contacts']:,} contacts, {data['interactions']:,} interactions"
        f" ({data['scored']:,} with a score), {data['size']}",
        flush=True,
    )
    rate = scoring_rate(data["texts"])
    print(f"sentiment scoring: {rate:,.0f} interactions/s ({len(data['texts']):,} scored)")
    results: dict[str, Any] = {
        "dataset": {k: data[k] for k in ("contacts", "interactions", "scored", "size")}
    }
    results["sentiment_per_second"] = rate
    if seeded is not None:
        results["seed_seconds"] = seeded
    with (
        tempfile.TemporaryDirectory() as logs,
        common.serving(url, Path(logs)) as server,
        httpx.Client(base_url=server.base, timeout=60) as client,
    ):
        token = sign_in(client)
        touch = data["busiest"][0]
        runs: dict[str, tuple[str, list[dict[str, Any]], str | None]] = {
            "reconnectSuggestions(first: 20)": (RECONNECT, [{}], None),
            "introductionSuggestions(first: 20), after a write": (INTRODUCTIONS, [{}], touch),
            "introductionSuggestions(first: 20), repeated": (INTRODUCTIONS, [{}], None),
            "conversationStarters(first: 10)": (
                STARTERS,
                [{"c": contact} for contact in data["busiest"]],
                None,
            ),
        }
        for label, (query, variables, touching) in runs.items():
            run = measure(client, token, query, variables, args.requests, touch=touching)
            print(
                f"{label:52} p50 {run['p50_ms']:7.1f} ms   p90 {run['p90_ms']:7.1f} ms"
                f"   max {run['max_ms']:7.1f} ms",
                flush=True,
            )
            sample = run.pop("sample")
            results[label] = run
            results[f"{label} sample"] = sample
    print("load average:", harness.load_average())
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
