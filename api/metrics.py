"""``GET /metrics`` in Prometheus' text format, and the API's own metrics.

Every process counts in prometheus_client's metrics. With several processes (``rapport serve
--workers N``), PROMETHEUS_MULTIPROC_DIR names a directory they share, each process writes its
values there, and any process answering /metrics sums them (docs/operations.md, "Metrics").
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("rapport.api.requests")

REQUESTS = Counter(
    "rapport_graphql_requests",
    "GraphQL operations answered over HTTP, by operation name and outcome.",
    ["operation", "outcome"],
)
LATENCY = Histogram(
    "rapport_graphql_request_seconds",
    "Time to answer a GraphQL operation over HTTP, by operation name and outcome.",
    ["operation", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_ERRORS = Counter(
    "rapport_http_errors",
    "HTTP requests answered with an error status outside any GraphQL operation (a method, "
    "size, media type, rate or link refused: 4xx; a fault: 5xx), by route and status.",
    ["route", "status"],
)
POOL_OPEN = Gauge(
    "rapport_db_pool_open_connections",
    "Database connections the API's pool holds open (in use or idle).",
    multiprocess_mode="livesum",
)
POOL_IN_USE = Gauge(
    "rapport_db_pool_connections_in_use",
    "Database connections checked out of the API's pool.",
    multiprocess_mode="livesum",
)

# Operation names come from clients: only names that look like GraphQL names, and at most
# this many distinct ones per process, become label values; the rest count as "other".
MAX_OPERATIONS = 200
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_seen: set[str] = set()


def operation_label(name: str | None) -> str:
    """The label value for an operation name: itself, "anonymous" or "other"."""
    if not name:
        return "anonymous"
    if name in _seen:
        return name
    if _NAME.fullmatch(name) is None or len(_seen) >= MAX_OPERATIONS:
        return "other"
    _seen.add(name)
    return name


def outcome_of(errors: list[Any] | None) -> str:
    return "error" if errors else "ok"


# Set in a request's ASGI scope once its GraphQL operation is counted, so HTTP_ERRORS does not
# count the request again.
_COUNTED = "rapport.operation_counted"


def mark_counted(scope: Scope) -> None:
    """Note that the request's operation is counted (``observe_request``)."""
    scope[_COUNTED] = True


class CountErrors:
    """Count the HTTP requests answered with an error status that no operation counted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # if the app raises before it answers, the server answers 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            if status >= 400 and not scope.get(_COUNTED):
                # Route templates (/export/{token}), so the label's values are the app's.
                route = scope.get("route")
                HTTP_ERRORS.labels(getattr(route, "path", "unmatched"), str(status)).inc()


async def observe_request(operation: str | None, answer: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``answer`` (which returns an ExecutionResult) and count it; an exception counts as
    "refused" (a request error answered by status, such as a mutation over GET) or "failed"."""
    start = time.perf_counter()
    outcome = "failed"
    try:
        result = await answer()
        outcome = outcome_of(result.errors)
        return result
    except Exception as exc:
        outcome = "refused" if hasattr(exc, "status") else "failed"
        raise
    finally:
        label = operation_label(operation)
        seconds = time.perf_counter() - start
        REQUESTS.labels(label, outcome).inc()
        LATENCY.labels(label, outcome).observe(seconds)
        log.debug("operation %s: %s in %.1f ms", label, outcome, seconds * 1000)


def watch_pool(engine: AsyncEngine) -> None:
    """Keep the pool gauges in step with ``engine``'s pool.

    Each event sets them from the pool's own counts (so they cannot drift); a connection
    being checked in is still counted as out when its event runs.
    """
    pool: Any = engine.sync_engine.pool

    def update(returning: int) -> None:
        out = max(0, pool.checkedout() - returning)
        POOL_IN_USE.set(out)
        POOL_OPEN.set(out + pool.checkedin() + returning)

    event.listen(pool, "checkout", lambda *_: update(0))
    event.listen(pool, "checkin", lambda *_: update(1))


def exposition() -> bytes:
    """Every metric of this process, or of every process sharing PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def metrics_endpoint(token: str | None) -> Callable[[Request], Awaitable[Response]]:
    """The /metrics handler; with ``token``, only for ``Authorization: Bearer <token>``."""
    expected = f"Bearer {token}".encode() if token else None

    async def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return PlainTextResponse(
                    "Send the metrics token: Authorization: Bearer <RAPPORT_METRICS_TOKEN>.",
                    status_code=401,
                    headers={"www-authenticate": "Bearer"},
                )
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    return metrics
