"""Benchmark the notification pipeline: a full planning pass, and one worker's delivery rate.

Run from the repository root::

    .venv/bin/python bench/push_pipeline.py [--users 10000 --contacts 100]
                                            [--deliver 20000] [--database NAME]

A quick small run: ``.venv/bin/python bench/push_pipeline.py --users 500 --deliver 2000``.
The idle planning cost at 200,000 owners: ``.venv/bin/python bench/push_pipeline.py
--users 200000 --contacts 0 --deliver 0 --skip-planning --idle-passes 50``.

What it does:

1. Creates (or reuses) the database ``rapport_bench_notify_<U>u_<C>c`` on the PostgreSQL server
   named by ``RAPPORT_DATABASE_URL`` (only its server is used), else on
   ``postgresql://postgres@127.0.0.1:5432/``; migrates it; and, when empty, generates in SQL
   (``bench/push_data.py``) ``--users`` users (time zones drawn from a list across every UTC
   offset band, preferred hours 7-10, a quarter with quiet hours, a tenth with a daily digest),
   each with ``--contacts`` contacts (every contact has a birthday, a third a work start date,
   a half a keep-in-touch cadence with a last interaction up to 90 days ago, hence a follow-up
   date), one device (its locale en, fr-FR, de, es or pt-BR, a fifth each: three fifths of the
   pushes are worded from a catalog at send time) and two reminders (one weekly). Then
   ``VACUUM (ANALYZE)``.
2. Planning: clears the plan and runs ``planner.plan_all`` (every owner, 500 owners per
   transaction, four transactions in flight), from a cold start. Reports the time, the
   pushes planned, this process's CPU and its peak RSS. A second pass re-plans every owner
   over the rows the first left (as after a change of every owner's settings).
3. Delivery: makes ``--deliver`` planned rows due now, as if never sent (their day set to
   today; a bench-only shortcut), vacuums the table, starts the tests' fake FCM server
   (``tests/fake_fcm.py``) in a subprocess on loopback, and runs one ``Worker`` with the real
   ``FcmSender`` (FCM HTTP v1 over aiohttp) against it until nothing is due, with the
   worker's default settings unless ``--batches-in-flight`` or ``--fcm-connections`` say
   otherwise. Reports
   pushes per second, the CPU per push of the worker and of the fake, and how busy the whole
   machine was.

``--skip-planning`` delivers from the plan an earlier run left, to time delivery alone. The
first line printed times a fixed pure-Python loop: on a shared machine, a slow run and a slow
change look alike without it.

Nothing here asserts timings; the numbers go to ``bench/RESULTS.md`` by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvloop
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/push_pipeline.py``, this file's folder comes first on sys.path, where
# a bench module named like one of the project's packages would shadow it: search the
# repository root instead (tests/unit/test_bench_names.py keeps the names apart).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api.settings import Settings  # noqa: E402
from bench import harness  # noqa: E402
from bench.push_data import NOW, count, generate  # noqa: E402
from notifications import planner  # noqa: E402
from store import tables  # noqa: E402
from store.engine import create_engine  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def plan_everyone(engine: AsyncEngine) -> tuple[float, int, int]:
    started = time.perf_counter()
    owners, planned = await planner.plan_all(engine, NOW)
    return time.perf_counter() - started, owners, planned


def serve_fake_fcm(port: int, directory: Path) -> None:
    """Run the tests' fake FCM in this process, as the delivery bench's counterpart."""
    from tests.fake_fcm import FakeFcm, serve_fake

    url = f"http://127.0.0.1:{port}"
    fake = FakeFcm(url, directory / "service-account.json")
    fake.add_service_account(fake.credentials_file, f"{url}/token")
    # Until the benchmark terminates this process.
    uvloop.run(serve_fake(fake, port, asyncio.Event()))


async def deliver(
    engine: AsyncEngine, rows: int, *, batches_in_flight: int, connections: int
) -> dict[str, Any]:
    import tempfile

    from model.clock import FixedClock
    from notifications.fcm_sender import FcmSender
    from notifications.worker import Worker

    s = tables.scheduled_notifications.c
    async with engine.begin() as conn:
        await conn.execute(sa.text("TRUNCATE notification_deliveries"))
        # Only the chosen rows are due, as if never sent: the rest wait a month, out of reach.
        await conn.execute(
            sa.update(tables.scheduled_notifications)
            .where(s.status.in_(["PENDING", "SENT"]))
            .values(due_at=NOW + timedelta(days=30))
        )
        picked = (
            sa.select(s.owner_id, s.id)
            .where(s.status.in_(["PENDING", "SENT"]))
            .order_by(s.owner_id, s.id)
            .limit(rows)
            .cte("picked")
        )
        await conn.execute(
            sa.update(tables.scheduled_notifications)
            .where(s.owner_id == picked.c.owner_id, s.id == picked.c.id)
            .values(due_at=NOW, status="PENDING", sent_at=None, attempts=0)
        )
        # Each owner's today in their zone, so none is taken for missed.
        await conn.execute(
            sa.text(
                "UPDATE scheduled_notifications AS s SET local_date = "
                "(CAST(:now AS timestamptz) AT TIME ZONE u.time_zone)::date "
                "FROM users AS u WHERE u.id = s.owner_id AND s.due_at = :now"
            ).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True))),
            {"now": NOW},
        )
    # The setup rewrote every row; clear the dead versions as autovacuum would in time (it is
    # off on some servers, this machine's among them), so delivery meets a steady table.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text("VACUUM (ANALYZE) scheduled_notifications"))
    port = harness.free_port()
    with tempfile.TemporaryDirectory() as directory:
        fake = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve-fake-fcm", str(port), directory
        )
        try:
            await _wait_for(port)
            fake_cpu = harness.cpu_seconds(fake.pid)
            sender = FcmSender(
                project_id="rapport-bench",
                credentials_file=str(Path(directory) / "service-account.json"),
                fcm_url=f"http://127.0.0.1:{port}/v1/projects/{{0}}/messages:send",
                max_connections=connections,
            )
            worker = Worker(
                engine=engine,
                sender=sender,
                clock=FixedClock(NOW),
                plan=False,
                batches_in_flight=batches_in_flight,
            )
            machine = harness.machine_cpu_seconds()
            started = time.perf_counter()
            cpu = time.process_time()
            handled = await worker.deliver_backlog()
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
            busy, total = (
                after - before
                for after, before in zip(harness.machine_cpu_seconds(), machine, strict=True)
            )
            fake_cpu = harness.cpu_seconds(fake.pid) - fake_cpu
            await sender.close()
        finally:
            fake.terminate()
            await fake.wait()
    d = tables.notification_deliveries.c
    async with engine.connect() as conn:
        delivered = await conn.scalar(
            sa.select(sa.func.count()).where(d.outcome == "DELIVERED", d.attempted_at == NOW)
        )
        outcomes: dict[str, int] = dict(
            (
                await conn.execute(
                    sa.select(s.status, sa.func.count()).where(s.due_at == NOW).group_by(s.status)
                )
            ).all()
        )
    return {
        "rows": handled,
        "seconds": seconds,
        "cpu_ms_per_push": 1000 * cpu / handled if handled else 0.0,
        "fake_cpu_ms_per_push": 1000 * fake_cpu / handled if handled else 0.0,
        "machine_busy": busy / total if total else 0.0,
        "per_second": (delivered or 0) / seconds if seconds else 0.0,
        "delivered": delivered,
        "outcomes": outcomes,
    }


async def bench_planning(engine: AsyncEngine, contacts: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("TRUNCATE scheduled_notifications, notification_deliveries, planner_owners")
        )
    cpu = time.process_time()
    seconds, owners, planned = await plan_everyone(engine)
    print(
        f"planning pass (cold): {seconds:.2f} s for {owners} owners / {contacts} contacts,"
        f" {planned} pushes planned; this process's CPU {time.process_time() - cpu:.1f} s;"
        f" peak RSS {peak_rss_mib():.0f} MiB"
    )
    # Everyone's settings "changed": the whole plan is redone over existing rows.
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(tables.planner_owners).values(planned_version=-1, planned_at=None)
        )
    seconds, owners, planned = await plan_everyone(engine)
    print(
        f"planning pass (again, every owner re-planned over their pending rows):"
        f" {seconds:.2f} s, {planned} pushes pending"
    )


# The claim of a planning pass before migration 0011 (every owner's version compared with
# the one last planned), kept to measure what an idle pass cost then on the same data.
_CLAIM_BEFORE_0011 = sa.text(
    "SELECT p.owner_id, o.version FROM planner_owners AS p"
    " JOIN sync_owners AS o ON o.owner_id = p.owner_id"
    " WHERE o.version > p.planned_version OR p.planned_at IS NULL OR p.planned_at < :stale_before"
    " LIMIT 500 FOR UPDATE OF p SKIP LOCKED"
).bindparams(sa.bindparam("stale_before", type_=sa.DateTime(timezone=True)))


async def bench_idle_planning(engine: AsyncEngine, passes: int) -> None:
    """Time planning passes that find nobody to plan: the worker's cost every poll."""
    await planner.plan_all(engine, NOW)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text("VACUUM (ANALYZE) sync_owners, planner_owners"))
    owners = await count(engine, tables.planner_owners)
    later = NOW + timedelta(minutes=10)

    async def before() -> None:
        async with engine.begin() as conn:
            await conn.execute(_CLAIM_BEFORE_0011, {"stale_before": later - timedelta(hours=1)})

    async def now() -> None:
        assert await planner.plan_due(engine, later) == 0

    for label, one_pass in (("before (0010)", before), ("now (0011)", now)):
        await one_pass()  # warm: prepared statements, caches
        wall: list[float] = []
        cpu = time.process_time()
        for _ in range(passes):
            started = time.perf_counter()
            await one_pass()
            wall.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu
        wall.sort()
        print(
            f"idle planning pass, {label}: median {1000 * wall[len(wall) // 2]:.2f} ms,"
            f" max {1000 * wall[-1]:.2f} ms over {passes} passes at {owners} owners;"
            f" this process's CPU {1000 * cpu / passes:.2f} ms a pass"
        )


async def _wait_for(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError("the fake FCM server did not start")


def reference_loop_seconds() -> float:
    """CPU seconds of a fixed pure-Python loop: how fast this machine is right now.

    Shared machines vary by half from minute to minute; printed beside the results, this
    tells a slow run from a slow change.
    """
    started = time.process_time()
    sum(i * i for i in range(3_000_000))
    return time.process_time() - started


async def main(args: argparse.Namespace) -> None:
    print(f"reference loop: {reference_loop_seconds():.3f} s CPU (lower is a faster machine)")
    name = args.database or f"rapport_bench_notify_{args.users}u_{args.contacts}c"
    url = harness.database_url(name)
    await harness.ready_database(url)
    engine = create_engine(url, pool_size=4)
    if await count(engine, tables.users) == 0:
        print(f"generating {args.users} users x {args.contacts} contacts ...", flush=True)
        print(f"generated in {await generate(engine, args.users, args.contacts):.1f} s")
    contacts = await count(engine, tables.contacts)
    print(f"database {name}: {await count(engine, tables.users)} users, {contacts} contacts")
    if not args.skip_planning:
        await bench_planning(engine, contacts)
    if args.idle_passes:
        await bench_idle_planning(engine, args.idle_passes)
    if args.deliver:
        result = await deliver(
            engine,
            args.deliver,
            batches_in_flight=args.batches_in_flight,
            connections=args.fcm_connections,
        )
        print(
            f"delivery: {result['delivered']} pushes delivered to the fake FCM in"
            f" {result['seconds']:.2f} s = {result['per_second']:.0f}/s,"
            f" {result['rows']} rows,"
            f" statuses {result['outcomes']}; worker CPU {result['cpu_ms_per_push']:.2f} ms"
            f" per push (fake FCM {result['fake_cpu_ms_per_push']:.2f} ms);"
            f" machine CPU {100 * result['machine_busy']:.0f} % busy;"
            f" peak RSS {peak_rss_mib():.0f} MiB"
        )
    await engine.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=100, help="per user")
    parser.add_argument("--deliver", type=int, default=20_000, help="pushes to deliver (0: skip)")
    parser.add_argument("--database", help="database name")
    parser.add_argument(
        "--batches-in-flight",
        type=int,
        default=Settings().worker.batches_in_flight,
        help="RAPPORT_WORKER_BATCHES_IN_FLIGHT",
    )
    parser.add_argument(
        "--fcm-connections",
        type=int,
        default=Settings().push.fcm_max_connections,
        help="RAPPORT_FCM_MAX_CONNECTIONS",
    )
    parser.add_argument(
        "--idle-passes",
        type=int,
        default=0,
        help="time this many planning passes with nobody to plan (the worker's idle cost)",
    )
    parser.add_argument(
        "--skip-planning",
        action="store_true",
        help="deliver from the plan an earlier run left, without timing planning again",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-fake-fcm"]:
        serve_fake_fcm(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        # The loop `rapport worker` runs on.
        uvloop.run(main(parse_args()))
