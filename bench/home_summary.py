"""The summary: a markdown table, JSON, a plot, and what machine and code produced them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.home_contenders import NODE
from bench.home_measure import Measured
from bench.home_statements import LoggedStatements

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def ratios(m: Measured, results: list[Measured]) -> dict[str, float | None]:
    """Return a run's requests/s over PostGraphile's and pgbench's in the same round."""
    found: dict[str, float | None] = {}
    for peer in ("postgraphile", "pgbench"):
        same = [r for r in results if r.round == m.round and r.key == peer]
        found[peer] = m.load.rate / same[0].load.rate if same and same[0].load.rate else None
    return found


def markdown_table(results: list[Measured], statements: dict[str, LoggedStatements]) -> str:
    def ratio(value: float | None) -> str:
        return f"{value:.2f}" if value is not None else "-"

    lines = [
        "| round | server | req/s | p50 | p99 | server CPU / request | PostgreSQL CPU / request"
        " | statements / request | transactions / request | peak RSS (busiest process)"
        " | × PostGraphile | × pgbench | server processes (cores each) | other processes |",  # noqa: RUF001
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        load, found = m.load, ratios(m, results)
        logged = statements.get(m.key)
        per_request = f"{logged.per_request:g}" if logged else "-"
        peak = f"{m.peak_rss_mib:.0f} MiB" if m.peak_rss_mib is not None else "-"
        server = f"{m.per_request_ms(m.server_cpu):.2f} ms" if m.key != "pgbench" else "-"
        split = " + ".join(f"{cores:.2f}" for cores in m.per_process) or "-"
        lines.append(
            f"| {m.round} | {m.label} | {load.rate:,.1f} | {load.p50_ms:.1f} ms"
            f" | {load.p99_ms:.1f} ms | {server} | {m.per_request_ms(m.postgres_cpu):.2f} ms"
            f" | {per_request} | {m.transactions / max(1, load.requests):.2f} | {peak}"
            f" | {ratio(found['postgraphile'])} | {ratio(found['pgbench'])} | {split}"
            f" | {m.other_cores:.2f} cores |"
        )
    return "\n".join(lines)


def write_json(path: Path, summary: dict[str, Any], results: list[Measured]) -> None:
    runs = []
    for m in results:
        run = asdict(m)
        run["requests_per_second"] = m.load.rate
        run["server_cpu_per_request_ms"] = m.per_request_ms(m.server_cpu)
        run["postgres_cpu_per_request_ms"] = m.per_request_ms(m.postgres_cpu)
        run["load_cpu_per_request_ms"] = m.per_request_ms(m.load_cpu)
        run["transactions_per_request"] = m.transactions / max(1, m.load.requests)
        run["ratio"] = ratios(m, results)
        runs.append(run)
    path.write_text(json.dumps({**summary, "runs": runs}, indent=2, default=str) + "\n")
    print(f"wrote {path}")


def plot(path: Path, results: list[Measured], title: str) -> None:
    """Draw requests/s per contender per round as grouped bars (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is missing (pip install -e '.[bench]', or make bench-home)")
        return
    rounds = sorted({m.round for m in results})
    keys = list(dict.fromkeys(m.key for m in results))
    width = 0.8 / len(keys)
    figure, axes = plt.subplots(figsize=(9, 4.8))
    for n, key in enumerate(keys):
        runs = {m.round: m for m in results if m.key == key}
        xs = [r + (n - (len(keys) - 1) / 2) * width for r in rounds if r in runs]
        ys = [runs[r].load.rate for r in rounds if r in runs]
        bars = axes.bar(xs, ys, width, label=next(iter(runs.values())).label)
        axes.bar_label(bars, fmt="%.0f", fontsize=8)
    # Headroom above the tallest bar for its label and the legend.
    axes.set_ylim(top=max(m.load.rate for m in results) * 1.25)
    axes.set_xticks(rounds, [f"round {r}" for r in rounds])
    axes.set_ylabel("requests/s (wrk or pgbench, higher is better)")
    axes.set_title(title, fontsize=10)
    axes.legend(fontsize=8, loc="upper left", ncols=2)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    print(f"wrote {path}")


def describe_machine() -> dict[str, Any]:
    """Return what the numbers depend on: the machine, its load and the tools' versions."""

    def first_line(command: list[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError:
            return "missing"
        return (done.stdout or done.stderr).strip().splitlines()[0]

    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    try:
        graphile = json.loads((BENCH / "node_modules/postgraphile/package.json").read_text())
        postgraphile = str(graphile["version"])
    except (OSError, ValueError, KeyError):
        postgraphile = "not installed"
    # top's first screen reports CPU since boot: the second, half a second later, is now.
    top = subprocess.run(
        ["top", "-b", "-n2", "-d0.5"], capture_output=True, text=True, check=False
    ).stdout
    top = top[top.rfind("top - ") :] if "top - " in top else top
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu": model[1] if model else "unknown",
        "memory_gib": round(int(memory[1]) / 2**20, 1) if memory else None,
        "load_average": os.getloadavg(),
        "top": top.splitlines()[:15],
        "python": sys.version.split()[0],
        "wrk": first_line(["wrk", "-v"]),
        "pgbench": first_line(["pgbench", "--version"]),
        "node": first_line([str(NODE), "--version"]) if NODE.exists() else "not installed",
        "postgraphile": postgraphile,
    }


def code_version() -> str:
    """Return the checked-out commit and how many files differ from it."""
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%h %cd", "--date=format:%H:%M"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"commit {commit}, {len(changed)} tracked file(s) changed in the working tree"
