"""PostgreSQL CPU per call of the compiled home statement, alone.

Run from the repository root, on a database ``bench/home.py`` seeded::

    .venv/bin/python bench/statement_cpu.py [--database rapport_bench]
        [--email demo@rapport.dev] [--calls 1500] [--rounds 3] [--print-sql]

It compiles ``bench/home.py``'s HOME_QUERY for the user as the server would, prepares the
statement on one asyncpg connection (as the server's pool does), runs it ``--calls`` times per
round after ten warm-up calls (so PostgreSQL settles on its generic plan), and reads the
backend's CPU time from ``/proc/<pid>/stat`` before and after: the server's process and the
network are left out, so this is the statement's own cost. The PostgreSQL server must be on
this machine. Nothing is asserted; the figures go to ``bench/RESULTS.md`` by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

ROOT = Path(__file__).resolve().parent.parent
# Run as ``python bench/statement_cpu.py``, this file's folder comes first on sys.path, where
# a bench module named like one of the project's packages would shadow it: search the
# repository root instead (tests/unit/test_bench_names.py keeps the names apart).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from graphql import OperationDefinitionNode, parse  # noqa: E402
from graphql.execution.values import get_variable_values  # noqa: E402

import schema  # noqa: E402,F401  (first: reads and schema import each other)
from bench.home_answer import HOME_QUERY  # noqa: E402
from reads.compile import compile_plan  # noqa: E402
from reads.plan import Inputs  # noqa: E402
from schema import build_schema  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def read_backend_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the backend process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def compile_home(owner_id: UUID) -> tuple[str, tuple[Any, ...]]:
    """The home statement's text and parameters for ``owner_id``, as the server compiles it."""
    document = parse(HOME_QUERY)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    graphql_schema = build_schema()._schema
    variables = get_variable_values(graphql_schema, operation.variable_definitions or (), {})
    assert not isinstance(variables, list), variables
    inputs = Inputs(
        variables=variables, owner_id=owner_id, now=datetime.now(UTC), max_page_size=100
    )
    plan = compile_plan(graphql_schema, document, operation, inputs)
    assert plan.sql is not None, "the home query no longer compiles"
    return plan.sql, tuple(read(inputs) for read in plan.params)


async def measure(url: str, email: str, calls: int, rounds: int, print_sql: bool) -> None:
    connection = await asyncpg.connect(url)
    try:
        owner_id = await connection.fetchval("SELECT id FROM users WHERE email = $1", email)
        if owner_id is None:
            raise SystemExit(f"no user {email} in this database: seed it with bench/home.py")
        sql, params = compile_home(owner_id)
        if print_sql:
            print(sql)
        pid = await connection.fetchval("SELECT pg_backend_pid()")
        statement = await connection.prepare(sql)
        text = await statement.fetchval(*params)
        print(f"{len(sql):,} characters of SQL; the answer is {len(text):,} characters of JSON")
        for _ in range(10):
            await statement.fetchval(*params)
        per_call = []
        for _ in range(rounds):
            before = read_backend_cpu(pid)
            for _ in range(calls):
                await statement.fetchval(*params)
            per_call.append((read_backend_cpu(pid) - before) / calls * 1000)
        print(
            "PostgreSQL CPU per call: "
            + ", ".join(f"{ms:.3f}" for ms in per_call)
            + f" ms (median {statistics.median(per_call):.3f} ms over {rounds} x {calls} calls)"
        )
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="rapport_bench")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--email", default="demo@rapport.dev")
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--print-sql", action="store_true")
    args = parser.parse_args()
    url = f"{args.server}/{args.database}"
    asyncio.run(measure(url, args.email, args.calls, args.rounds, args.print_sql))


if __name__ == "__main__":
    main()
