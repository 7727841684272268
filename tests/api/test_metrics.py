"""GET /metrics over HTTP, parsed as Prometheus parses it, while the app is used."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from api.app import create_app
from model.clock import FixedClock
from notifications import metrics as push_metrics
from notifications import planner
from notifications.sender import LogSender
from notifications.worker import Worker
from tests.api.graphql import data, sign_up
from tests.api.test_notifications_api import CREATE_REMINDER, MONDAY, REGISTER
from tests.api.test_sync_api import PULL, PUSH, now_clock, unique
from tests.conftest import make_settings, serve

TRANSPORT_WS = Subprotocol("graphql-transport-ws")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(http: httpx.AsyncClient, token: str | None = None) -> Samples:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def named(
    http: httpx.AsyncClient, query: str, name: str, token: str, **variables: object
) -> dict[str, object]:
    response = await http.post(
        "/graphql",
        json={"query": query, "operationName": name, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_operations_are_counted_and_timed_by_name_and_outcome(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    before = await scrape(http)
    for _ in range(2):
        assert "errors" not in await named(http, "query Home { me { id } }", "Home", account.token)
    failed = await named(http, "query Broken { me { noSuchField } }", "Broken", account.token)
    assert "errors" in failed
    after = await scrape(http)

    requests, seconds = "rapport_graphql_requests_total", "rapport_graphql_request_seconds_count"
    ok, error = {"operation": "Home", "outcome": "ok"}, {"operation": "Broken", "outcome": "error"}
    assert value(after, requests, **ok) - value(before, requests, **ok) == 2
    assert value(after, seconds, **ok) - value(before, seconds, **ok) == 2
    assert value(after, requests, **error) - value(before, requests, **error) == 1
    assert value(after, "rapport_graphql_request_seconds_sum", **ok) > value(
        before, "rapport_graphql_request_seconds_sum", **ok
    )


async def test_client_chosen_names_cannot_add_labels_without_bound(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    weird = "no spaces allowed " + uuid.uuid4().hex
    await http.post(
        "/graphql",
        json={"query": "query { me { id } }", "operationName": weird},
        headers={"authorization": f"Bearer {account.token}"},
    )
    samples = await scrape(http)
    labels = {dict(key[1]).get("operation") for key in samples}
    assert weird not in labels
    assert "other" in labels


async def test_the_pool_in_use_and_open_are_exposed(http: httpx.AsyncClient) -> None:
    await sign_up(http)
    samples = await scrape(http)
    assert value(samples, "rapport_db_pool_open_connections") >= 1
    # This scrape holds no connection; nothing else runs in between.
    assert value(samples, "rapport_db_pool_connections_in_use") == 0


async def test_push_and_pull_sizes_are_observed(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    phone = unique("metrics-phone")
    mutations = [
        {
            "id": n,
            "name": "contact.put",
            "args": {
                "id": str(uuid.uuid4()),
                "hlc": now_clock("phone", n),
                "fields": {"firstName": f"Ada {n}"},
            },
        }
        for n in (1, 2, 3)
    ]
    before = await scrape(http)
    pushed = {"input": {"clientId": phone, "schemaVersion": 1, "mutations": mutations}}
    await data(http, PUSH, pushed, account.token)
    await data(http, PULL, {"client": phone, "cursor": None, "version": 1}, account.token)
    after = await scrape(http)

    def grew(name: str) -> float:
        return value(after, name) - value(before, name)

    assert grew("rapport_sync_push_mutations_count") == 1
    assert grew("rapport_sync_push_mutations_sum") == 3
    assert grew("rapport_sync_pull_changes_count") == 1
    assert grew("rapport_sync_pull_changes_sum") == 3


@pytest.fixture(scope="module")
async def monday_app(api_db: str, session_tmp: Path) -> Starlette:
    return create_app(make_settings(session_tmp), database_url=api_db, clock=FixedClock(MONDAY))


@pytest.fixture(scope="module")
async def monday(monday_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(monday_app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def test_worker_claims_sends_and_the_queue_are_exposed(
    monday: httpx.AsyncClient, monday_app: Starlette
) -> None:
    account = await sign_up(monday)
    device = {"token": f"metrics-{account.user_id}", "platform": "ANDROID"}
    await data(monday, REGISTER, {"input": device}, account.token)
    reminder = {"title": "Call back", "dueOn": MONDAY.date().isoformat(), "dueTime": "00:00:00"}
    await data(monday, CREATE_REMINDER, {"input": reminder}, account.token)
    engine = monday_app.state.engine
    await planner.plan_owners(engine, [UUID(account.user_id)], MONDAY)
    await push_metrics.measure_queue(engine, MONDAY)
    before = await scrape(monday)

    worker = Worker(engine=engine, sender=LogSender(), clock=FixedClock(MONDAY), plan=False)
    while await worker.deliver_due():
        pass
    await push_metrics.measure_queue(engine, MONDAY)
    after = await scrape(monday)

    assert value(before, "rapport_push_queue_depth") >= 1
    assert value(after, "rapport_push_queue_depth") == 0
    assert (
        value(after, "rapport_worker_claimed_total") - value(before, "rapport_worker_claimed_total")
        >= 1
    )
    delivered = {"outcome": "DELIVERED"}
    assert (
        value(after, "rapport_push_sends_total", **delivered)
        - value(before, "rapport_push_sends_total", **delivered)
        >= 1
    )


async def test_a_token_protects_metrics_and_production_hides_them_without_one(
    api_db: str, session_tmp: Path
) -> None:
    secret = "metrics-" + uuid.uuid4().hex
    guarded = create_app(
        make_settings(session_tmp, server={"metrics_token": secret}), database_url=api_db
    )
    hidden = create_app(
        make_settings(session_tmp, server={"env": "production"}), database_url=api_db
    )
    async with serve(guarded) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert "rapport_graphql_requests" in str(await scrape(client, secret))
    async with serve(hidden) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/metrics")).status_code == 404


def grown(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_refusals_before_any_operation_are_counted_by_route_and_status(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    before = await scrape(http)
    assert (await http.put("/graphql", json={"query": "{ me { id } }"})).status_code == 405
    too_large = await http.post(
        "/graphql",
        content=b" " * (1024 * 1024 + 1),
        headers={"content-type": "application/json"},
    )
    assert too_large.status_code == 413
    assert (await http.get("/export/not-a-link")).status_code == 404
    # A mutation over GET is an operation: counted with the operations, as refused, only.
    over_get = await http.get(
        "/graphql",
        params={"query": "mutation { signOut { ok } }"},
        headers={"authorization": f"Bearer {account.token}"},
    )
    assert over_get.status_code == 405
    after = await scrape(http)

    errors = "rapport_http_errors_total"
    assert grown(before, after, errors, route="/graphql", status="405") == 1
    assert grown(before, after, errors, route="/graphql", status="413") == 1
    assert grown(before, after, errors, route="/export/{token}", status="404") == 1
    refused = {"operation": "anonymous", "outcome": "refused"}
    assert grown(before, after, "rapport_graphql_requests_total", **refused) == 1


async def running_operations(http: httpx.AsyncClient, expected: float) -> Samples:
    """Scrape until the running WebSocket operations are ``expected`` (a cancelled operation
    ends on the server's next turn, after its client's complete)."""
    while True:
        samples = await scrape(http)
        if value(samples, "rapport_websocket_operations_running") == expected:
            return samples
        await asyncio.sleep(0.02)


async def test_websocket_operations_and_refused_connections_are_counted(
    http: httpx.AsyncClient, api_url: str
) -> None:
    account = await sign_up(http)
    ws_url = api_url.replace("http://", "ws://") + "/graphql"
    before = await scrape(http)
    running = value(before, "rapport_websocket_operations_running")
    async with connect(ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {account.token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = f'subscription Changes {{ changes(clientId: "{unique("ws")}") {{ version }} }}'
        subscribe = {"query": query, "operationName": "Changes"}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        assert json.loads(await ws.recv())["type"] == "next"
        await asyncio.wait_for(running_operations(http, running + 1), 10)
        await ws.send(json.dumps({"id": "1", "type": "complete"}))
        after = await asyncio.wait_for(running_operations(http, running), 10)
    operations = "rapport_websocket_operations_total"
    assert grown(before, after, operations, operation="Changes", message="subscribe") == 1
    assert grown(before, after, operations, operation="Changes", message="complete") == 1

    # Refused: a protocol the server does not speak, an operation before connection_init, and
    # a page of another origin.
    async with connect(ws_url, subprotocols=["graphql-nonsense"]) as ws:  # type: ignore[list-item]
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4406
    async with connect(ws_url, subprotocols=[TRANSPORT_WS]) as ws:
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    with pytest.raises(InvalidStatus):
        async with connect(ws_url, origin="https://elsewhere.example"):  # type: ignore[arg-type]
            pass
    refused = await scrape(http)
    refusals = "rapport_websocket_refusals_total"
    for reason in ("subprotocol", "not_initialised", "origin"):
        assert grown(after, refused, refusals, reason=reason) == 1, reason
