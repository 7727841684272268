"""Benchmark sync: an initial syncPull of a large account, empty incremental pulls, and pushes.

Run from the repository root::

    .venv/bin/python bench/device_sync.py [--contacts 10000 --interactions 10]
                                   [--limits 500 2000 5000] [--repeat 2] [--empty-pulls 200]
                                   [--pushes 3] [--database NAME] [--json PATH] [--profile DIR]

A quick small run: ``.venv/bin/python bench/device_sync.py --contacts 500 --interactions 5``.

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
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/device_sync.py``, this file's folder comes first on sys.path, where
# a bench module named like one of the project's packages would shadow it: search the
# repository root instead (tests/unit/test_bench_names.py keeps the names apart).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.sync_client import new_client_id, serving, sign_in  # noqa: E402
from bench.sync_data import Dataset, database_name, describe_data, prepare_data, remove_pushed  # noqa: E402
from bench.sync_profile import recording, summarise_profile  # noqa: E402
from bench.sync_runs import (  # noqa: E402
    PUSH_SIZE,
    PullRun,
    PushRun,
    cpu_text,
    empty_pulls,
    print_empty,
    print_pull,
    pull_all,
    push_once,
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
    url = harness.database_url(name)
    results: dict[str, Any] = {"database": name, "load_average_start": harness.load_average()}

    async def prepare() -> tuple[float | None, dict[str, Any]]:
        await harness.ready_database(url)
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
            idle = harness.rss_mib(server.pid)
            results["server"] = {
                "pid": server.pid,
                "launcher_pid": server.process.pid,
                "rss_idle_mib": idle,
            }
            print(
                f"server pid {server.pid} (launched {server.process.pid}), idle RSS {idle:.0f} MiB",
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
            push_client = new_client_id()
            for n in range(args.pushes):
                push = push_once(client, token, server, name, push_client, n * PUSH_SIZE + 1)
                pushes.append(push)
                print(
                    f"push of {PUSH_SIZE} contact.put ({push.first_id}..{push.last_id}):"
                    f" {push.seconds:.3f} s, {push.statuses},"
                    f" {push.request_megabytes:.2f} MB request; {cpu_text(push.cpu)}",
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
            peak = max([*peaks, harness.peak_rss_mib([server.pid]) or 0.0])
            results["server"]["peak_rss_mib"] = peak
            print(f"peak server RSS over the run: {peak:.0f} MiB", flush=True)

    results["load_average_end"] = harness.load_average()
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
