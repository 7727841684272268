"""One measured run: the load, and the CPU, memory and PostgreSQL work it cost."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from bench import harness
from bench.home_contenders import Contender
from bench.home_load import LoadResult, _children_cpu, run_pgbench, run_python_load, run_wrk
from bench.home_statements import _sessions, _transactions


def other_processes(
    before: harness.CpuSnapshot, after: harness.CpuSnapshot
) -> list[tuple[float, str]]:
    """Return the CPU seconds of every other process alive at both ends, busiest first."""
    ours = {os.getpid(), *after.server, *after.postgres}
    used = [
        (seconds - before.everyone[pid], pid)
        for pid, seconds in after.everyone.items()
        if pid in before.everyone and pid not in ours and seconds > before.everyone[pid]
    ]
    return [
        (seconds, harness.command_line(pid)[:70] or str(pid)) for seconds, pid in sorted(used)[::-1]
    ]


@dataclass
class Measured:
    round: int
    key: str
    label: str
    load: LoadResult
    # CPU seconds of the server's process tree (Rapport's workers, the node process; none for
    # pgbench), of the bench database's PostgreSQL backends, of the load generator, and of the
    # whole machine, over ``wall`` seconds.
    server_cpu: float
    postgres_cpu: float
    load_cpu: float
    busy: float
    wall: float
    # Cores each server process that did work used, busiest first.
    per_process: list[float]
    others: list[tuple[float, str]]
    # PostgreSQL transactions committed or rolled back, and sessions opened, in the run.
    transactions: int
    sessions: int
    peak_rss_mib: float | None
    load_average: tuple[float, float, float]

    def per_request_ms(self, seconds: float) -> float:
        return seconds / self.load.requests * 1000 if self.load.requests else float("nan")

    @property
    def other_cores(self) -> float:
        return sum(seconds for seconds, _ in self.others) / self.wall


@dataclass
class Mark:
    """What one end of a measured run sees."""

    time: float
    cpu: harness.CpuSnapshot
    load_cpu: float
    transactions: int
    sessions: int


def measure(
    target: Contender, round_number: int, url: str, owner: str, args: argparse.Namespace
) -> Measured:
    database = make_url(url).database or ""
    processes = harness.process_tree(target.pid) if target.pid else []
    marks: list[Mark] = []
    peak_known: list[bool] = []

    def mark(load_pid: int | None) -> None:
        """Take one end of the window: the load generator's CPU is its own process's when it
        runs on (pgbench), else that of the finished children (wrk)."""
        if not marks and processes:
            peak_known.append(harness.reset_peak_rss(processes))
        load_cpu = _children_cpu()
        if load_pid is not None:
            load_cpu = harness.cpu_seconds(load_pid)
        marks.append(
            Mark(
                time=time.time(),
                cpu=harness.cpu_snapshot(target.pid, database),
                load_cpu=load_cpu,
                transactions=asyncio.run(_transactions(url)),
                sessions=asyncio.run(_sessions(url)),
            )
        )

    def drive(seconds: int, window: Callable[[int | None], None] | None) -> LoadResult:
        if not target.base:
            return run_pgbench(url, owner, args.connections, seconds=seconds, window=window)
        if window:
            window(None)
        if shutil.which("wrk") and not args.python_load:
            result = run_wrk(target, args.connections, args.threads, seconds)
        else:
            result = run_python_load(target, args.connections, seconds)
        if window:
            window(None)
        return result

    if args.warmup:
        warm = drive(args.warmup, None)
        print(f"  warm-up: {warm.rate:.1f} req/s over {warm.seconds:.0f} s")
    result = drive(args.duration, mark)
    before, after = marks
    wall = after.time - before.time
    load_1, load_5, load_15 = os.getloadavg()
    return Measured(
        round=round_number,
        key=target.key,
        label=target.label,
        load=result,
        server_cpu=harness.cpu_delta(before.cpu.server, after.cpu.server),
        postgres_cpu=harness.cpu_delta(before.cpu.postgres, after.cpu.postgres),
        load_cpu=after.load_cpu - before.load_cpu,
        busy=after.cpu.busy - before.cpu.busy,
        wall=wall,
        per_process=sorted(
            (
                (seconds - before.cpu.server.get(pid, 0.0)) / wall
                for pid, seconds in after.cpu.server.items()
                if seconds > before.cpu.server.get(pid, 0.0)
            ),
            reverse=True,
        ),
        others=other_processes(before.cpu, after.cpu),
        # Backends report their counters when idle, at most once a second: under steady load
        # the part not yet reported is about the same at both ends.
        transactions=after.transactions - before.transactions,
        sessions=after.sessions - before.sessions,
        peak_rss_mib=harness.peak_rss_mib(processes) if all(peak_known) and processes else None,
        load_average=(load_1, load_5, load_15),
    )


def report(m: Measured) -> None:
    load = m.load
    others = sum(seconds for seconds, _ in m.others)
    rest = max(0.0, m.busy - m.server_cpu - m.postgres_cpu - m.load_cpu - others)
    print(
        f"  {load.rate:.1f} req/s ({load.requests} requests in {load.seconds:.1f} s,"
        f" {load.failed} failed), p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms,"
        f" mean {load.mean_ms:.1f} ms, max {load.max_ms:.1f} ms [{load.tool}]"
    )
    print(
        f"  CPU per request: server {m.per_request_ms(m.server_cpu):.2f} ms,"
        f" PostgreSQL backends {m.per_request_ms(m.postgres_cpu):.2f} ms,"
        f" load generator {m.per_request_ms(m.load_cpu):.2f} ms;"
        f" machine busy {m.busy / m.wall / (os.cpu_count() or 1) * 100:.0f}% of"
        f" {os.cpu_count()} cores, of which other processes {others / m.wall:.2f} cores"
        f" and the kernel or exited processes {rest / m.wall:.2f} cores"
    )
    split = ", ".join(f"{cores:.2f}" for cores in m.per_process) or "-"
    peak = f"{m.peak_rss_mib:.0f} MiB" if m.peak_rss_mib is not None else "unknown"
    print(
        f"  server processes busy (cores, each): {split}; peak RSS {peak};"
        f" {m.transactions / max(1, load.requests):.2f} PostgreSQL transactions per request;"
        f" {m.sessions} PostgreSQL sessions opened"
    )
    for seconds, command in m.others[:3]:
        print(f"    other: {seconds / m.wall:.2f} cores  {command}")
