"""The WebSocket at /graphql: a size limit on its messages, and what /metrics counts of it.

Counted for graphql-transport-ws: each operation a client starts (``subscribe``) and stops
while it runs (``complete``), by operation name, and the operations running. For either
protocol (and graphql-ws, the older one): each connection the server refuses at the
handshake or closes for a fault of the client's, by reason.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from prometheus_client import Counter, Gauge
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.async_base_view import AsyncBaseHTTPView
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    CompleteMessage,
    SubscribeMessage,
)

from api.metrics import operation_label
from schema.context import Context

OPERATIONS = Counter(
    "rapport_websocket_operations",
    "GraphQL operations over the WebSocket (graphql-transport-ws), by operation name and the "
    "client's message: subscribe (started) or complete (stopped while it ran).",
    ["operation", "message"],
)
RUNNING = Gauge(
    "rapport_websocket_operations_running",
    "GraphQL operations running over the WebSocket (graphql-transport-ws).",
    multiprocess_mode="livesum",
)
REFUSALS = Counter(
    "rapport_websocket_refusals",
    "WebSocket connections refused at the handshake or closed by the server for a fault of "
    "the client's, by reason.",
    ["reason"],
)

# The close codes the server sends (Strawberry's protocols, and the size limit below); a
# normal close (1000) is no refusal.
REASONS = {
    1009: "message_too_large",
    1011: "init_failed",
    4400: "bad_message",
    4401: "not_initialised",
    4403: "forbidden",
    4406: "subprotocol",
    4408: "init_timeout",
    4409: "duplicate_id",
    4429: "repeated_init",
}


def count_refusal(reason: str) -> None:
    REFUSALS.labels(reason).inc()


class SizeLimitedWebSocket(ASGIWebSocketAdapter):
    """Strawberry's WebSocket adapter, closing (1009) on a message over the size limit, and
    counting the connections it closes."""

    def __init__(
        self,
        view: AsyncBaseHTTPView[Any, Any, Any, Any, Any, Any, Any],
        request: WebSocket,
        response: WebSocket,
    ) -> None:
        super().__init__(view, request, response)
        self.max_bytes: int = getattr(view, "max_body_bytes")  # noqa: B009 (a GraphQLOverHTTP)

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        # Strawberry's loop, with the size check before decoding.
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if len(text.encode()) > self.max_bytes:
                    await self.close(1009, f"Messages are limited to {self.max_bytes} bytes")
                    return
                try:
                    yield self.view.decode_json(text)
                except json.JSONDecodeError as exc:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
        except KeyError as exc:
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass

    async def close(self, code: int, reason: str) -> None:
        if code != 1000:
            count_refusal(REASONS.get(code, "other"))
        await super().close(code, reason)


class CountedTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, counting operations as they start and stop."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        before = self.operations.get(message["id"])
        await super().handle_subscribe(message)
        started = self.operations.get(message["id"])
        # Not refused (a duplicate id, no connection_ack): Strawberry registered it.
        if started is not None and started is not before:
            OPERATIONS.labels(operation_label(started.operation_name), "subscribe").inc()

    async def handle_complete(self, message: CompleteMessage) -> None:
        running = self.operations.get(message["id"])
        if running is not None:
            OPERATIONS.labels(operation_label(running.operation_name), "complete").inc()
        await super().handle_complete(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        RUNNING.inc()
        try:
            await super().run_operation(operation)
        finally:
            RUNNING.dec()
