"""The sync bench's server and client: ``rapport serve`` in production mode, GraphQL over HTTP."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import harness
from bench.sync_data import EMAIL, PASSWORD

SECRET_KEY = "bench-sync-only-secret-key-not-for-production-0123456789"  # noqa: S105
TOKEN_TTL_SECONDS = 86_400

PULL = (
    "query Pull($clientId: ID!, $cursor: String, $limit: Int!) { syncPull(clientId: $clientId,"
    " schemaVersion: 1, cursor: $cursor, limit: $limit) { changes"
    " cursor hasMore reset lastMutationId serverHlc } }"
)
PUSH = (
    "mutation Push($input: SyncPushInput!) { syncPush(input: $input) { lastMutationId"
    " results { id status reason } resendFrom serverHlc clockRestamped } }"
)
SIGN_IN = (
    "mutation SignIn($input: SignInInput!) { signIn(input: $input) { __typename "
    "... on AuthPayload { accessToken } ... on InvalidCredentials { message } } }"
)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    pid: int
    log: Path


@contextmanager
def serving(url: str, log_dir: Path) -> Iterator[Server]:
    log = log_dir / "server.log"
    with harness.serving_rapport(
        url, log, workers=1, secret_key=SECRET_KEY, token_ttl_seconds=TOKEN_TTL_SECONDS
    ) as (process, base, port):
        pid = harness.listening_pid(process.pid, port) or process.pid
        yield Server(process, base, pid, log)


@dataclass
class Reply:
    data: dict[str, Any]
    size: int
    request_seconds: float
    parse_seconds: float


def graphql(
    client: httpx.Client, query: str, variables: dict[str, Any], token: str | None = None
) -> Reply:
    body = json.dumps({"query": query, "variables": variables})
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    response = client.post("/graphql", content=body, headers=headers)
    received = time.perf_counter()
    response.raise_for_status()
    # A phone parses with native code; orjson stands in for it, so the client's share of the
    # time is not Python's json module.
    payload: dict[str, Any] = orjson.loads(response.content)
    parsed = time.perf_counter()
    if payload.get("errors"):
        raise SystemExit(f"GraphQL errors: {json.dumps(payload['errors'])[:2000]}")
    return Reply(payload["data"], len(response.content), received - started, parsed - received)


def sign_in(client: httpx.Client) -> str:
    reply = graphql(client, SIGN_IN, {"input": {"email": EMAIL, "password": PASSWORD}})
    result = reply.data["signIn"]
    if result["__typename"] != "AuthPayload":
        raise SystemExit(f"sign-in failed: {result}")
    token: str = result["accessToken"]
    return token


def new_client_id() -> str:
    return f"bench-{uuid.uuid4().hex[:12]}"
