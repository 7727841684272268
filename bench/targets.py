"""Measure what targets (issue 18) add: deriving ``targetMetAt``, and introduction paths.

Run from the repository root::

    .venv/bin/python bench/targets.py [--contacts 5000 --interactions 3] [--runs 20]

Creates the database ``rapport_bench_targets`` afresh on the server of ``RAPPORT_DATABASE_URL``
(else the local default), migrates and seeds it (``api.seed``: one user), and then, in this
process:

1. re-derives every contact (``sync.derived.refresh_contacts`` over all of them, the statement
   every write runs for the contacts it touched) with no targets, then with every contact a
   target: the ``targetMetAt`` subqueries only run for targets;
2. marks ``--runs`` contacts as targets (the rest are possible introducers) and times
   ``introductionPaths``' read and ranking (``store.targets.path_facts`` and
   ``insights.target.rank_paths``) for each in turn.

Nothing asserts timings; the numbers go to ``bench/RESULTS.md`` by hand. The database is
dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from api.seed import seed_database  # noqa: E402
from bench import harness  # noqa: E402
from insights import target as paths  # noqa: E402
from store import tables  # noqa: E402
from store import targets as target_store  # noqa: E402
from store.engine import create_engine  # noqa: E402
from sync import derived  # noqa: E402

DATABASE = "rapport_bench_targets"


async def _refresh_ms(url: str, runs: int) -> float:
    """Median milliseconds of re-deriving every contact (rolled back: nothing is written)."""
    engine = create_engine(url, pool_size=1)
    timings = []
    try:
        for _ in range(runs):
            async with engine.connect() as conn:
                c = tables.contacts.c
                owner, ids = None, []
                for row in await conn.execute(sa.select(c.owner_id, c.id)):
                    owner = row.owner_id
                    ids.append(row.id)
                assert owner is not None
                started = time.perf_counter()
                await derived.refresh_contacts(
                    conn,
                    owner_id=owner,
                    contact_ids=ids,
                    version=1,
                    now=datetime.now(UTC),
                    time_zone="UTC",
                )
                timings.append((time.perf_counter() - started) * 1000)
                await conn.rollback()
    finally:
        await engine.dispose()
    return statistics.median(timings)


async def _paths_ms(url: str, runs: int) -> tuple[float, float, int]:
    """p50 and max milliseconds of one introductionPaths read and ranking, and candidates."""
    engine = create_engine(url, pool_size=1)
    timings, sizes = [], []
    try:
        async with engine.connect() as conn:
            c = tables.contacts.c
            targets = (
                (await conn.execute(sa.select(tables.contacts).where(c.is_target).limit(runs)))
                .mappings()
                .all()
            )
            for row in targets:
                started = time.perf_counter()
                facts = await target_store.path_facts(conn, owner_id=row["owner_id"], target=row)
                people = [
                    paths.Person(
                        key=p["id"],
                        name=p["first_name"],
                        company=p["company"],
                        interests=tuple(p["interests"]),
                        stage=p["stage"],
                        last_interaction_at=p["last_interaction_at"],
                    )
                    for p in facts.candidates
                ]
                target = paths.Person(
                    row["id"], "t", company=row["company"], interests=tuple(row["interests"])
                )
                paths.rank_paths(target, people, now=datetime.now(UTC), limit=5)
                timings.append((time.perf_counter() - started) * 1000)
                sizes.append(len(facts.candidates))
    finally:
        await engine.dispose()
    return statistics.median(timings), max(timings), int(statistics.median(sizes))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--interactions", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    url = harness.database_url(DATABASE)
    await harness.create_database(url, drop_first=True)
    try:
        await harness.migrate(url)
        await seed_database(
            url,
            users=1,
            contacts=args.contacts,
            interactions=args.interactions,
            email="targets@bench.rapport",
            password="bench-password-123",  # noqa: S106 - the generated bench user only
            random_seed=18,
        )
        await harness.vacuum(url)
        plain = await _refresh_ms(url, 5)
        async with harness.connection(url) as conn:
            await conn.execute(sa.text("UPDATE contacts SET is_target = true"))
            await conn.execute(sa.text("ANALYZE contacts"))
        every = await _refresh_ms(url, 5)
        async with harness.connection(url) as conn:
            # A few targets, as a user has: the others are possible introducers.
            await conn.execute(sa.text("UPDATE contacts SET is_target = false"))
            await conn.execute(
                sa.text(
                    "UPDATE contacts SET is_target = true WHERE id IN "
                    "(SELECT id FROM contacts ORDER BY id LIMIT :n)"
                ),
                {"n": args.runs},
            )
        p50, worst, candidates = await _paths_ms(url, args.runs)
        print(f"re-derive {args.contacts} contacts, no targets: {plain:.0f} ms (median of 5)")
        print(f"re-derive {args.contacts} contacts, all targets: {every:.0f} ms (median of 5)")
        print(
            f"introductionPaths read + rank: p50 {p50:.1f} ms, max {worst:.1f} ms "
            f"({candidates} candidates at the median, {args.runs} targets)"
        )
    finally:
        async with harness.connection(url, "postgres") as conn:
            await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))


if __name__ == "__main__":
    asyncio.run(main())
