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
import os
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# Run as ``python bench/home.py``, this file's folder comes first on sys.path, where
# a bench module named like one of the project's packages would shadow it: search the
# repository root instead (tests/unit/test_bench_names.py keeps the names apart).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from bench.home_answer import check_home, require_same_rows  # noqa: E402
from bench.home_contenders import contender, label_of  # noqa: E402
from bench.home_data import (  # noqa: E402
    Dataset,
    create_views,
    database_name,
    describe_data,
    missing_users,
    owner_id,
    seed,
    set_nestloop,
)
from bench.home_load import python_load_generator  # noqa: E402
from bench.home_measure import Measured, measure, report  # noqa: E402
from bench.home_statements import (  # noqa: E402
    LoggedStatements,
    StatementCount,
    check_contenders,
    count_statements,
)
from bench.home_summary import code_version, describe_machine, markdown_table, plot, write_json  # noqa: E402

# Where Debian's PostgreSQL 15 writes its log (pg_ctlcluster redirects the server's stderr).
POSTGRES_LOG = "/var/log/postgresql/postgresql-15-main.log"


PEERS = ("postgraphile", "pgbench")


def main() -> None:
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
    url = harness.database_url(database_name(dataset, args.database))
    print(f"database {make_url(url).render_as_string(hide_password=True)}")
    asyncio.run(harness.ready_database(url, drop_first=args.reseed))
    todo = asyncio.run(missing_users(url, dataset))
    if todo:
        print(f"seeding {len(todo)} of {dataset.users} users: {dataset.contacts} contacts each")
        seconds = asyncio.run(seed(url, dataset, todo))
        print(f"seeding took {seconds:.0f} s ({seconds / len(todo):.1f} s per user)")
        print(f"VACUUM (ANALYZE) took {asyncio.run(harness.vacuum(url)):.0f} s")
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
