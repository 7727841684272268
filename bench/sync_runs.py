"""The sync bench's measurements: initial syncs, empty pulls, pushes, and how they are printed."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench import harness
from bench.sync_client import PULL, PUSH, Server, graphql, new_client_id
from bench.sync_data import PUSH_COMPANY

PUSH_SIZE = 1_000


@dataclass
class CpuUse:
    """CPU seconds used during a phase, and the machine's spare capacity."""

    server: float
    postgres: float
    client: float
    other: float
    machine_busy_share: float


def cpu_use(before: harness.CpuSnapshot, after: harness.CpuSnapshot) -> CpuUse:
    server = harness.cpu_delta(before.server, after.server)
    postgres = harness.cpu_delta(before.postgres, after.postgres)
    client = after.client - before.client
    busy = after.busy - before.busy
    return CpuUse(
        server=server,
        postgres=postgres,
        client=client,
        other=max(0.0, busy - server - postgres - client),
        machine_busy_share=busy / max(after.total - before.total, 0.01),
    )


@dataclass
class PullRun:
    limit: int
    seconds: float
    pages: int
    changes: dict[str, int]
    deleted: int
    megabytes: float
    request_seconds: float
    parse_seconds: float
    slowest_page_seconds: float
    peak_rss_mib: float | None
    rss_after_mib: float
    cpu: CpuUse
    cursor: str = field(repr=False)

    @property
    def total(self) -> int:
        return sum(self.changes.values())


def pull_all(
    client: httpx.Client,
    token: str,
    server: Server,
    database: str,
    limit: int,
    cursor: str | None = None,
) -> PullRun:
    """Pull every page after ``cursor`` with a new client id; measure it."""
    client_id = new_client_id()
    counts: Counter[str] = Counter()
    deleted = pages = size = 0
    request = parse = slowest = 0.0
    peak_known = harness.reset_peak_rss([server.pid])
    before = harness.cpu_snapshot(server.pid, database)
    started = time.perf_counter()
    while True:
        reply = graphql(
            client, PULL, {"clientId": client_id, "cursor": cursor, "limit": limit}, token
        )
        page = reply.data["syncPull"]
        if page["reset"]:
            raise SystemExit("the server asked for a reset during a pull")
        pages += 1
        size += reply.size
        request += reply.request_seconds
        parse += reply.parse_seconds
        slowest = max(slowest, reply.request_seconds + reply.parse_seconds)
        for change in page["changes"]:
            counts[change["entity"]] += 1
            deleted += change["deleted"]
        cursor = page["cursor"]
        if not page["hasMore"]:
            break
    seconds = time.perf_counter() - started
    after = harness.cpu_snapshot(server.pid, database)
    assert cursor is not None
    return PullRun(
        limit=limit,
        seconds=seconds,
        pages=pages,
        changes=dict(counts),
        deleted=deleted,
        megabytes=size / 1e6,
        request_seconds=request,
        parse_seconds=parse,
        slowest_page_seconds=slowest,
        peak_rss_mib=harness.peak_rss_mib([server.pid]) if peak_known else None,
        rss_after_mib=harness.rss_mib(server.pid),
        cpu=cpu_use(before, after),
        cursor=cursor,
    )


@dataclass
class EmptyPulls:
    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    cpu: CpuUse

    def per_request_ms(self, seconds: float) -> float:
        return 1000 * seconds / max(self.count, 1)


def empty_pulls(
    client: httpx.Client, token: str, server: Server, database: str, cursor: str, count: int
) -> EmptyPulls:
    client_id = new_client_id()
    variables = {"clientId": client_id, "cursor": cursor, "limit": 500}
    body = orjson.dumps({"query": PULL, "variables": variables})
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    # The request is prepared once and sent over one keep-alive http.client connection:
    # httpx spends about 2 ms of client CPU per request, which on two cores would be
    # measured as server latency.
    url = httpx.URL(server.base)
    connection = http.client.HTTPConnection(url.host, url.port)
    latencies: list[float] = []
    before = harness.cpu_snapshot(server.pid, database)
    for _ in range(count):
        started = time.perf_counter()
        connection.request("POST", "/graphql", body, headers)
        reply = connection.getresponse().read()
        latencies.append((time.perf_counter() - started) * 1000)
        page = orjson.loads(reply)["data"]["syncPull"]
        if page["changes"] or page["hasMore"] or page["reset"]:
            raise SystemExit(f"an incremental pull was not empty: {reply[:500]!r}")
    after = harness.cpu_snapshot(server.pid, database)
    connection.close()
    ordered = sorted(latencies)
    return EmptyPulls(
        count=count,
        p50_ms=harness.percentile(ordered, 0.50),
        p90_ms=harness.percentile(ordered, 0.90),
        p99_ms=harness.percentile(ordered, 0.99),
        max_ms=ordered[-1],
        mean_ms=sum(ordered) / len(ordered),
        cpu=cpu_use(before, after),
    )


@dataclass
class PushRun:
    first_id: int
    last_id: int
    seconds: float
    statuses: dict[str, int]
    request_megabytes: float
    cpu: CpuUse


def push_body(client_id: str, first_id: int) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    mutations = [
        {
            "id": first_id + n,
            "name": "contact.put",
            "args": {
                "id": str(uuid.uuid4()),
                "fields": {"firstName": f"Bench {first_id + n}", "company": PUSH_COMPANY},
                "hlc": f"{now_ms:015d}-{n:05d}-benchdevice",
            },
        }
        for n in range(PUSH_SIZE)
    ]
    return {"input": {"clientId": client_id, "schemaVersion": 1, "mutations": mutations}}


def push_once(
    client: httpx.Client, token: str, server: Server, database: str, client_id: str, first: int
) -> PushRun:
    variables = push_body(client_id, first)
    before = harness.cpu_snapshot(server.pid, database)
    started = time.perf_counter()
    reply = graphql(client, PUSH, variables, token)
    seconds = time.perf_counter() - started
    after = harness.cpu_snapshot(server.pid, database)
    result = reply.data["syncPush"]
    statuses = Counter(r["status"] for r in result["results"])
    last = first + PUSH_SIZE - 1
    if statuses != Counter({"APPLIED": PUSH_SIZE}) or result["lastMutationId"] != last:
        reasons = {r["reason"] for r in result["results"] if r["reason"]}
        raise SystemExit(
            f"push {first}..{last}: {dict(statuses)}, lastMutationId"
            f" {result['lastMutationId']}, reasons {sorted(reasons)[:5]}"
        )
    size = len(json.dumps(variables)) / 1e6
    return PushRun(first, last, seconds, dict(statuses), size, cpu_use(before, after))


def cpu_text(cpu: CpuUse) -> str:
    return (
        f"CPU s: server {cpu.server:.2f}, postgres {cpu.postgres:.2f}, client {cpu.client:.2f},"
        f" other {cpu.other:.2f}; machine {100 * cpu.machine_busy_share:.0f}% busy"
    )


def print_pull(run: PullRun, label: str = "") -> None:
    peak = f"{run.peak_rss_mib:.0f} MiB" if run.peak_rss_mib is not None else "unknown"
    print(
        f"  {label}limit {run.limit:>5}: {run.seconds:6.2f} s, {run.pages:>4} pages,"
        f" {run.total} changes {run.changes}, {run.megabytes:.1f} MB;"
        f" requests {run.request_seconds:.2f} s + client JSON {run.parse_seconds:.2f} s,"
        f" slowest page {1000 * run.slowest_page_seconds:.0f} ms;"
        f" peak server RSS {peak} (after {run.rss_after_mib:.0f} MiB)",
        flush=True,
    )
    print(f"      {cpu_text(run.cpu)}", flush=True)


def print_empty(empty: EmptyPulls, label: str = "") -> None:
    print(
        f"{label}empty incremental pull x{empty.count}: p50 {empty.p50_ms:.2f} ms,"
        f" p90 {empty.p90_ms:.2f} ms, p99 {empty.p99_ms:.2f} ms,"
        f" max {empty.max_ms:.2f} ms, mean {empty.mean_ms:.2f} ms; per request:"
        f" server CPU {empty.per_request_ms(empty.cpu.server):.2f} ms,"
        f" postgres CPU {empty.per_request_ms(empty.cpu.postgres):.2f} ms,"
        f" client CPU {empty.per_request_ms(empty.cpu.client):.2f} ms;"
        f" machine {100 * empty.cpu.machine_busy_share:.0f}% busy",
        flush=True,
    )
