"""One home screen: the query, each contender's answer to it, and whether they agree."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench import harness
from bench.home_data import EMAIL, PASSWORD, Dataset

BENCH = Path(__file__).resolve().parent
PGBENCH_SQL = BENCH / "home_pgbench.sql"
PAGE = 50
LATEST = 3

HOME_QUERY = (
    "query Home { contacts(first: 50, orderBy: NEXT_FOLLOW_UP) { edges { cursor node { id "
    "displayName company nextFollowUpAt lastInteractionAt interactions(first: 3) { nodes { id "
    "kind occurredAt summary } } } } pageInfo { hasNextPage endCursor } } }"
)
SIGN_IN = (
    "mutation SignIn($input: SignInInput!) { signIn(input: $input) { __typename "
    "... on AuthPayload { accessToken } ... on InvalidCredentials { message } } }"
)
HOME_BODY = json.dumps({"query": HOME_QUERY, "operationName": "Home"})
# The same rows from PostGraphile: its connection over the bench_graphile views, aliased to
# HOME_QUERY's shape (PostGraphile names a table's own id column rowId, as its Node id is id).
POSTGRAPHILE_QUERY = (
    "query Home($owner: UUID!) { contacts: allContacts(condition: {ownerId: $owner}, "
    "orderBy: [NEXT_FOLLOW_UP_AT_ASC, ROW_ID_ASC], first: 50) { edges { cursor node { "
    "id: rowId displayName company nextFollowUpAt lastInteractionAt interactions(orderBy: "
    "[OCCURRED_AT_DESC, ROW_ID_DESC], first: 3) { nodes { id: rowId kind occurredAt summary } "
    "} } } pageInfo { hasNextPage endCursor } } }"
)


async def sign_in(client: httpx.AsyncClient) -> str:
    body = {"query": SIGN_IN, "variables": {"input": {"email": EMAIL, "password": PASSWORD}}}
    response = await client.post("/graphql", json=body)
    response.raise_for_status()
    result = response.json()["data"]["signIn"]
    if result["__typename"] != "AuthPayload":
        raise SystemExit(f"sign-in failed: {result}")
    token: str = result["accessToken"]
    return token


async def home(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    """Ask Rapport (in-process or over HTTP) for the home screen as the signed-in user."""
    return await post_home(client, HOME_BODY, {"authorization": f"Bearer {token}"})


async def post_home(
    client: httpx.AsyncClient, body: str, headers: dict[str, str]
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json", **headers}
    )
    response.raise_for_status()
    payload: dict[str, Any] = response.json()
    if payload.get("errors"):
        raise SystemExit(f"the home query failed: {payload['errors']}")
    return payload


def statement_sql() -> str:
    """Return bench/home_pgbench.sql for SQLAlchemy: no comments, the owner a bind parameter."""
    lines = [line for line in PGBENCH_SQL.read_text().splitlines() if not line.startswith("--")]
    text = "\n".join(lines).rstrip().rstrip(";")
    if ":owner::uuid" not in text:
        raise SystemExit(f"{PGBENCH_SQL} no longer names the owner as :owner::uuid")
    return text.replace(":owner::uuid", "CAST(:owner AS uuid)")


async def run_statement(url: str, owner: str) -> dict[str, Any]:
    """Run pgbench's statement once and return what it renders, as a GraphQL response."""
    async with harness.connection(url) as conn:
        rendered = await conn.scalar(sa.text(statement_sql()), {"owner": owner})
    data = json.loads(rendered) if isinstance(rendered, str) else rendered
    return {"data": data}


def check_home(payload: dict[str, Any], dataset: Dataset) -> str:
    """Return a one-line description of a home response, or fail if it looks wrong."""
    edges = payload["data"]["contacts"]["edges"]
    if len(edges) != min(PAGE, dataset.contacts):
        raise SystemExit(f"expected {min(PAGE, dataset.contacts)} contacts, got {len(edges)}")
    sizes = [len(edge["node"]["interactions"]["nodes"]) for edge in edges]
    if max(sizes) > LATEST:
        raise SystemExit(f"a contact came with more than {LATEST} interactions: {sizes}")
    follow_ups = [edge["node"]["nextFollowUpAt"] for edge in edges]
    known = [datetime.fromisoformat(f) for f in follow_ups if f is not None]
    if known != sorted(known):
        raise SystemExit("contacts are not ordered by next follow-up")
    return (
        f"{len(edges)} contacts, {sum(sizes)} interactions"
        f" ({sizes.count(LATEST)} contacts with {LATEST}), first follow-up {follow_ups[0]},"
        f" {len(json.dumps(payload))} bytes of JSON"
    )


def _instant(value: str | None) -> datetime | None:
    """Parse a timestamp as any contender writes it (ISO 8601, an offset or Z)."""
    return None if value is None else datetime.fromisoformat(value)


def home_rows(payload: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Return what must agree between contenders: each contact (id, values) in order, with its
    interactions (id, values) in order, and hasNextPage. Cursors are each server's own format."""
    connection = payload["data"]["contacts"]
    rows: list[tuple[Any, ...]] = []
    for edge in connection["edges"]:
        node = edge["node"]
        interactions = tuple(
            (i["id"], i["kind"], _instant(i["occurredAt"]), i["summary"])
            for i in node["interactions"]["nodes"]
        )
        rows.append(
            (
                node["id"],
                node["displayName"],
                node["company"],
                _instant(node["nextFollowUpAt"]),
                _instant(node["lastInteractionAt"]),
                interactions,
            )
        )
    rows.append(("hasNextPage", connection["pageInfo"]["hasNextPage"]))
    return rows


def require_same_rows(answers: dict[str, dict[str, Any]]) -> None:
    """Refuse to go on unless every contender returned the same rows as the first."""
    (first, reference), *others = [(key, home_rows(payload)) for key, payload in answers.items()]
    for key, rows in others:
        if rows == reference:
            continue
        at = next(
            (n for n, (a, b) in enumerate(zip(reference, rows, strict=False)) if a != b),
            min(len(reference), len(rows)),
        )
        mine = reference[at] if at < len(reference) else "(nothing)"
        theirs = rows[at] if at < len(rows) else "(nothing)"
        raise SystemExit(
            f"{key} and {first} return different rows ({len(rows) - 1} and"
            f" {len(reference) - 1} contacts); the first difference, row {at}:\n"
            f"  {first}: {mine}\n  {key}: {theirs}\nnot measuring contenders that disagree"
        )
    contacts = len(reference) - 1
    interactions = sum(len(row[5]) for row in reference[:-1])
    sizes = ", ".join(f"{key} {len(json.dumps(payload)):,}" for key, payload in answers.items())
    print(
        f"  all {len(answers)} contenders return the same {contacts} contacts and"
        f" {interactions} interactions, in the same order, with the same values"
        f" (bytes of JSON, as re-serialised here: {sizes})"
    )
