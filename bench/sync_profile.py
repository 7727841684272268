"""Profiling the server with py-spy (optional): a recording, summarised by package and function."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextmanager
def recording(pid: int, output: Path) -> Iterator[None]:
    """Sample the server's stacks (``py-spy record --format raw``) while the block runs."""
    spy = _py_spy()
    if spy is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    command = [spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw"]
    process = subprocess.Popen(
        [*command, "--nonblocking", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)  # py-spy attaches before the measured work starts
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
        if not output.exists():
            raise SystemExit(f"py-spy wrote no profile: {errors.decode()[-2000:]}")


_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
PROJECT = ("api", "schema", "store", "sync")
# The event loop's own frame on top of the stack: waiting for I/O, or in C code (uvloop).
LOOP = "Runner.run (asyncio/runners.py"


def _area(path: str) -> str:
    """Name the package a source file belongs to (py-spy prints paths relative to sys.path)."""
    parts = Path(path).parts
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1 :]
    if not parts:
        return "?"
    if parts[0] in PROJECT:
        return f"rapport:{parts[0]}"
    return parts[0].removesuffix(".py")


def summarise_profile(raw: Path, top: int = 20) -> dict[str, Any]:
    """Self time per package and function, inclusive time per project function (% of samples)."""
    own_area: Counter[str] = Counter()
    own_function: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if f]
        names: set[str] = set()
        for frame in frames:
            match = _FRAME.match(frame)
            if match is not None and match["file"].split("/")[0] in PROJECT:
                names.add(f"{match['function']} ({match['file']})")
        for name in names:
            inclusive[name] += count
        leaf = frames[-1] if frames else ""
        match = _FRAME.match(leaf)
        if leaf.startswith(LOOP):
            area = function = "event loop (idle, or in C: uvloop, asyncpg protocol)"
        elif match is not None:
            area = _area(match["file"])
            function = f"{match['function']} ({match['file']})"
        else:
            area = function = leaf or "?"
        own_area[area] += count
        own_function[function] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / max(total, 1), 1)) for name, n in counter.most_common(top)]

    return {
        "samples": total,
        "self_by_area_percent": shares(own_area),
        "self_by_function_percent": shares(own_function),
        "inclusive_project_percent": shares(inclusive),
    }
