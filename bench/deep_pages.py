"""Deep pages of contacts: does a cursor bound the ordering's index scan, on both read paths?

Run from the repository root, on a database seeded with ``rapport seed`` (a few thousand
contacts for the user)::

    .venv/bin/python bench/deep_pages.py --database-url postgresql://…/db --email E \\
        [--password P] [--depth 4000] [--runs 20]

For each order it takes the cursor of the ``--depth``-th contact (read with SQL, encoded as
the API encodes it) and asks for the 50 contacts after it (``first: 50, after``) and the 50
before it (``last: 50, before``), through an app with the compiled read path and one without
(in this process, over ASGI). Each SELECT either app ran that scans the ordering's index is
then run again under ``EXPLAIN (ANALYZE, BUFFERS)``: the rows its index scan filtered away,
the buffers it touched, and its execution time; and each request is timed ``--runs`` times
(median wall time, client and server in this one process). Nothing here asserts; the numbers
go to ``bench/RESULTS.md`` by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402

from api.app import create_app  # noqa: E402
from api.settings import (  # noqa: E402
    AuthSettings,
    DatabaseSettings,
    GraphQLSettings,
    LimitSettings,
    Settings,
    WorkerSettings,
)
from store import keyset, tables  # noqa: E402
from store.contacts import ORDERINGS, ContactOrder  # noqa: E402
from store.engine import create_engine  # noqa: E402

INDEXES = {
    ContactOrder.NAME: "ix_contacts_sort_name",
    ContactOrder.NEXT_FOLLOW_UP: "ix_contacts_follow_up",
    ContactOrder.LAST_INTERACTION: "ix_contacts_last_interaction",
    ContactOrder.CREATED: "ix_contacts_created",
}
PAGE = (
    "query($f: Int, $a: String, $l: Int, $b: String, $o: ContactOrder!) { contacts(first: $f, "
    "after: $a, last: $l, before: $b, orderBy: $o) { nodes { id displayName nextFollowUpAt } } }"
)
SIGN_IN = (
    "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) "
    "{ ... on AuthPayload { accessToken } } }"
)


async def cursor_at(url: str, email: str, order: ContactOrder, depth: int) -> str:
    """The API's cursor of the ``depth``-th living contact in ``order``."""
    engine = create_engine(url, pool_size=1)
    c, u = tables.contacts.c, tables.users.c
    keys = ORDERINGS[order]
    owner = sa.select(u.id).where(u.email == email).scalar_subquery()
    query = (
        sa.select(*(k.column for k in keys))
        .where(c.owner_id == owner, c.cl % 2 == 1)
        .order_by(*keyset.order_clauses(keys))
        .offset(depth)
        .limit(1)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).mappings().one()
    await engine.dispose()
    return keyset.encode_cursor(f"contacts:{order.value}", keys, dict(row))


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("Plans", []):
        found += _nodes(child)
    return found


async def explain(url: str, statements: list[tuple[str, Any]], index: str) -> dict[str, float]:
    """EXPLAIN ANALYZE the statements that scan ``index``; sum what their scans did."""
    totals = {"statements": 0.0, "removed": 0.0, "buffers": 0.0, "ms": 0.0}
    connection = await asyncpg.connect(str(sa.make_url(url).set(drivername="postgresql")))
    try:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            text = await connection.fetchval(
                f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}", *(parameters or ())
            )
            [plan] = json.loads(text)
            scans = [n for n in _nodes(plan["Plan"]) if n.get("Index Name") == index]
            if not scans:
                continue
            totals["statements"] += 1
            totals["ms"] += plan["Execution Time"]
            for scan in scans:
                totals["removed"] += scan.get("Rows Removed by Filter", 0)
                totals["buffers"] += scan.get("Shared Hit Blocks", 0) + scan.get(
                    "Shared Read Blocks", 0
                )
    finally:
        await connection.close()
    return totals


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="rapport-deep-"))
    apps = {}
    captured: dict[str, list[tuple[str, Any]]] = {}
    for name, compiled in (("compiled", True), ("resolvers", False)):
        settings = Settings(
            database=DatabaseSettings(data_dir=tmp),
            auth=AuthSettings(
                secret_key="bench-secret-key-that-is-long-enough-for-hs256",  # noqa: S106 - this process only
            ),
            worker=WorkerSettings(in_process=False),
            graphql=GraphQLSettings(compiled_reads=compiled),
            limits=LimitSettings(request_limit=1_000_000),
        )
        app = create_app(settings, database_url=args.database_url)
        captured[name] = []

        def keep(
            conn: Any, cursor: Any, statement: str, params: Any, *rest: Any, n: str = name
        ) -> None:
            captured[n].append((statement, params))

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", keep)
        apps[name] = app
    clients = {
        name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x")
        for name, app in apps.items()
    }
    signed_in = await clients["resolvers"].post(
        "/graphql",
        json={"query": SIGN_IN, "variables": {"e": args.email, "p": args.password}},
    )
    token = signed_in.json()["data"]["signIn"]["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    print("| order | page | path | statements | rows filtered | buffers | SQL ms | wall ms |")
    print("|---|---|---|---|---|---|---|---|")
    for order in ContactOrder:
        cursor = await cursor_at(args.database_url, args.email, order, args.depth)
        pages = {
            "first 50 after": {"f": 50, "a": cursor, "o": order.value},
            "last 50 before": {"l": 50, "b": cursor, "o": order.value},
        }
        for page, variables in pages.items():
            bodies = set()
            for name, client in clients.items():
                body = {"query": PAGE, "variables": variables}
                answer = await client.post("/graphql", json=body, headers=headers)
                bodies.add(answer.content)
                captured[name].clear()
                await client.post("/graphql", json=body, headers=headers)
                statements = list(captured[name])
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    await client.post("/graphql", json=body, headers=headers)
                    times.append((time.perf_counter() - started) * 1000)
                totals = await explain(args.database_url, statements, INDEXES[order])
                print(
                    f"| {order.value} | {page} | {name} | {totals['statements']:.0f} "
                    f"| {totals['removed']:.0f} | {totals['buffers']:.0f} "
                    f"| {totals['ms']:.2f} | {statistics.median(times):.2f} |"
                )
            if len(bodies) != 1:
                print(f"  !! the two paths answered differently for {order.value} {page}")
    for client in clients.values():
        await client.aclose()
    for app in apps.values():
        await app.state.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", default="rapport-demo")
    parser.add_argument("--depth", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=20)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
