"""The load generators: wrk, pgbench, and an httpx fallback."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench import harness
from bench.home_answer import PGBENCH_SQL
from bench.home_contenders import Contender

BENCH = Path(__file__).resolve().parent


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
{headers}

local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  failed = 0
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    failed = failed + 1
  end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("failed") end
  local e = summary.errors
  io.write(string.format("bench requests %d\\n", summary.requests))
  io.write(string.format("bench duration_us %d\\n", summary.duration))
  io.write(string.format("bench failed %d\\n", n + e.connect + e.read + e.write + e.timeout))
  io.write(string.format("bench p50_us %d\\n", latency:percentile(50)))
  io.write(string.format("bench p99_us %d\\n", latency:percentile(99)))
  io.write(string.format("bench mean_us %d\\n", latency.mean))
  io.write(string.format("bench max_us %d\\n", latency.max))
end
"""


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    failed: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(target: Contender, connections: int, threads: int, seconds: int) -> LoadResult:
    headers = "\n".join(
        f'wrk.headers["{name}"] = "{value}"' for name, value in target.headers.items()
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=target.body, headers=headers))
    try:
        command = [
            "wrk",
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={seconds}s",
            "--timeout=60s",
            "--latency",
            f"--script={script.name}",
            f"{target.base}/graphql",
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    values = dict(re.findall(r"^bench (\w+) (\d+)$", output, re.MULTILINE))
    return LoadResult(
        tool=f"wrk -t{threads} -c{connections}",
        requests=int(values["requests"]),
        seconds=int(values["duration_us"]) / 1e6,
        failed=int(values["failed"]),
        p50_ms=int(values["p50_us"]) / 1000,
        p99_ms=int(values["p99_us"]) / 1000,
        mean_ms=int(values["mean_us"]) / 1000,
        max_ms=int(values["max_us"]) / 1000,
    )


# pgbench opens its connections when it starts and closes them when it ends, so the backends'
# CPU is only visible while it runs: a measured run is a window inside a longer pgbench run.
PGBENCH_MARGIN = 1.5


def run_pgbench(
    url: str,
    owner: str,
    connections: int,
    *,
    seconds: int | None = None,
    transactions: int | None = None,
    latencies: bool = True,
    window: Callable[[int | None], None] | None = None,
) -> LoadResult:
    """Run bench/home_pgbench.sql under pgbench (one thread, prepared statements).

    With ``window``, pgbench runs ``PGBENCH_MARGIN`` seconds longer at each end; ``window(pid)``
    is called when the measured ``seconds`` start and end, and only the transactions that
    completed between the two calls count.
    """
    target = make_url(url)
    total = seconds + 2 * PGBENCH_MARGIN if seconds and window else seconds
    command = [
        "pgbench",
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={connections}",
        "--jobs=1",
        f"--file={PGBENCH_SQL}",
        f"--define=owner={owner}",
        f"--host={target.host or '127.0.0.1'}",
        f"--port={target.port or 5432}",
        f"--username={target.username or 'postgres'}",
        *([f"--time={math.ceil(total)}"] if total else [f"--transactions={transactions}"]),
    ]
    env = {**os.environ, **({"PGPASSWORD": target.password} if target.password else {})}
    with tempfile.TemporaryDirectory(prefix="rapport-pgbench-") as logs:
        if latencies or window:
            # One line per transaction: client, number, latency (us), script, end (s, us).
            command += ["--log", f"--log-prefix={logs}/pgbench"]
        command.append(target.database or "")
        out, err = Path(logs) / "stdout", Path(logs) / "stderr"
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
            started = ended = 0.0
            if window and seconds:
                time.sleep(PGBENCH_MARGIN)
                started = time.time()
                window(process.pid)
                time.sleep(seconds - (time.time() - started))
                ended = time.time()
                window(process.pid)
            process.wait()
        output = out.read_text()
        if process.returncode:
            raise SystemExit(f"pgbench failed:\n{output[-2000:]}{err.read_text()[-2000:]}")
        ends_and_times = [
            (int(fields[4]) + int(fields[5]) / 1e6, int(fields[2]) / 1000)
            for log in Path(logs).glob("pgbench*")
            for fields in (line.split() for line in log.read_text().splitlines())
        ]
    failed = re.search(r"number of failed transactions: (\d+)", output)
    if window and seconds:
        times = sorted(ms for end, ms in ends_and_times if started <= end < ended)
        requests, measured = len(times), ended - started
    else:
        processed = re.search(r"number of transactions actually processed: (\d+)", output)
        tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
        if not processed or not tps:
            raise SystemExit(f"could not read pgbench's output:\n{output}")
        times = sorted(ms for _, ms in ends_and_times)
        requests = int(processed[1])
        measured = requests / float(tps[1])
    return LoadResult(
        tool=f"pgbench -M prepared -j1 -c{connections}",
        requests=requests,
        seconds=measured,
        failed=int(failed[1]) if failed else 0,
        p50_ms=harness.percentile(times, 0.50) if times else 0.0,
        p99_ms=harness.percentile(times, 0.99) if times else 0.0,
        mean_ms=sum(times) / len(times) if times else 0.0,
        max_ms=times[-1] if times else 0.0,
    )


def run_python_load(target: Contender, connections: int, seconds: int) -> LoadResult:
    config = json.dumps(
        {
            "base": target.base,
            "body": target.body,
            "headers": target.headers,
            "c": connections,
            "s": seconds,
        }
    )
    command = [sys.executable, str(BENCH / "home.py"), "--load-generator", config]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    values = json.loads(output.strip().splitlines()[-1])
    return LoadResult(tool=f"python/httpx -c{connections}", **values)


async def python_load_generator(config: dict[str, Any]) -> dict[str, Any]:
    """The fallback load generator: ``c`` connections posting the query for ``s`` seconds."""
    latencies: list[float] = []
    failed = 0
    headers = {"content-type": "application/json", **config["headers"]}
    limits = httpx.Limits(max_connections=config["c"], max_keepalive_connections=config["c"])
    async with httpx.AsyncClient(base_url=config["base"], limits=limits, timeout=60) as client:
        started = time.perf_counter()
        deadline = started + config["s"]

        async def connection() -> None:
            nonlocal failed
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                response = await client.post("/graphql", content=config["body"], headers=headers)
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200 or b'"errors"' in response.content:
                    failed += 1

        await asyncio.gather(*(connection() for _ in range(config["c"])))
        seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "seconds": seconds,
        "failed": failed,
        "p50_ms": harness.percentile(ordered, 0.50) * 1000,
        "p99_ms": harness.percentile(ordered, 0.99) * 1000,
        "mean_ms": sum(ordered) / len(ordered) * 1000,
        "max_ms": ordered[-1] * 1000,
    }
