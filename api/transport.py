"""GraphQL over HTTP as its spec asks (graphql.github.io/graphql-over-http), on Strawberry's view.

What Strawberry's ASGI view leaves out, and this module adds:

- Media types. A client that accepts ``application/graphql-response+json`` gets it, and a
  request that fails before anything runs (a document that does not parse or validate, an
  unknown ``operationName``, variables that do not coerce) answers 400 without ``data``. With
  ``application/json``, ``*/*`` or no Accept header, such failures keep the older answer:
  200 with ``"data": null``.
- Errors of HTTP itself (a body that is not a JSON object, a wrong content type or method, a
  request too large, a path that names nothing) are JSON shaped like GraphQL errors,
  ``{"errors": [{"message": …, "extensions": {"code": …}}]}``, never plain text.
- One size limit for everything a client sends: a body (413), checked against Content-Length
  before reading and counted while a chunked body streams in; the query string of a GET (414);
  a WebSocket message (closed with 1009). A multipart upload (the GraphQL multipart request
  spec) has a larger limit of its own and needs a preflight header (api/uploads.py).
- Automatic persisted queries (``extensions.persistedQuery``, api/persisted.py): the stored
  text replaces a hash before Strawberry parses, so everything after (validation, limits, the
  compiled read path, GET refusing mutations) treats it as if the client had sent it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncGenerator, Mapping
from http import HTTPStatus
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.async_base_view import AsyncBaseHTTPView
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from api import persisted, uploads
from schema.context import Context

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
ALLOWED_METHODS = "GET, POST"

# extensions.code of each HTTP status Rapport answers with; others use the status's name.
CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    500: "INTERNAL_SERVER_ERROR",
}


# Answered 200 whatever the media type: part of the APQ handshake, not a failed request.
PERSISTED_QUERY_CODES = {"PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_SUPPORTED"}

JSON_KINDS = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}


class Refusal(Exception):
    """A request refused before GraphQL ran, answered with this status and message."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def choose_media_type(accept: str | None) -> str:
    """Pick the response's media type from an Accept header (application/json unless asked)."""
    if not accept:
        return JSON
    graphql_response = 0.0
    exact_json: float | None = None
    wildcard = 0.0
    for media_range in accept.split(","):
        name, _, params = media_range.partition(";")
        name = name.strip().lower()
        quality = _quality(params)
        if name == GRAPHQL_RESPONSE_JSON:
            graphql_response = max(graphql_response, quality)
        elif name == JSON:
            exact_json = max(exact_json or 0.0, quality)
        elif name in ("*/*", "application/*"):
            wildcard = max(wildcard, quality)
    json_quality = exact_json if exact_json is not None else wildcard
    # The newer type on a tie (Apollo Client sends both); a client that accepts neither gets
    # JSON rather than a 406, as older clients did.
    if graphql_response > 0 and graphql_response >= json_quality:
        return GRAPHQL_RESPONSE_JSON
    return JSON


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 1.0
    return 1.0


def error_response(
    status: int,
    message: str,
    *,
    media_type: str = JSON,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Answer ``status`` with a GraphQL-shaped JSON error."""
    code = CODES.get(status) or HTTPStatus(status).name
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers=dict(headers or {}),
        media_type=f"{media_type}; charset=utf-8",
    )


async def render_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's 404 and 405 (an unknown path, a method a route refuses), as JSON."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (204, 304):  # no body allowed
        return Response(status_code=exc.status_code, headers=exc.headers)
    return error_response(
        exc.status_code,
        exc.detail,
        media_type=choose_media_type(request.headers.get("accept")),
        headers=exc.headers,
    )


async def render_server_error(request: Request, exc: Exception) -> Response:
    """A fault outside GraphQL, as JSON (Starlette logs it with its traceback)."""
    return error_response(
        500,
        "Something went wrong on our side; try again later.",
        media_type=choose_media_type(request.headers.get("accept")),
    )


EXCEPTION_HANDLERS = {StarletteHTTPException: render_http_exception, Exception: render_server_error}


def _limit_receive(receive: Receive, max_bytes: int, message: str | None = None) -> Receive:
    """Wrap ``receive`` so a body stops being read as soon as it passes ``max_bytes``."""
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        got = await receive()
        if got["type"] == "http.request":
            received += len(got.get("body", b""))
            if received > max_bytes:
                raise _too_large(max_bytes, message)
        return got

    return receive_within_limit


def _too_large(max_bytes: int, message: str | None = None) -> Refusal:
    return Refusal(
        413,
        message
        or f"The request body is larger than this server's limit of {max_bytes:,} bytes; "
        "send a smaller request (split a large syncPush into several).",
    )


def _check_size(request: Request, max_bytes: int, message: str | None = None) -> None:
    if len(request.scope["query_string"]) > max_bytes:
        raise Refusal(
            414,
            f"The query string is longer than this server's limit of {max_bytes:,} bytes; "
            "send the operation in a POST body.",
        )
    length = request.headers.get("content-length")
    if length is None:
        return  # chunked: counted as it arrives
    if not length.isdigit():
        raise Refusal(400, "Content-Length must be a number of bytes.")
    if int(length) > max_bytes:
        raise _too_large(max_bytes, message)


def _check_content_type(request: Request) -> None:
    name, _, params = request.headers.get("content-type", "").partition(";")
    charset = next(
        (
            value.strip().strip('"').lower()
            for key, _, value in (p.partition("=") for p in params.split(";"))
            if key.strip().lower() == "charset"
        ),
        "utf-8",
    )
    if name.strip().lower() != JSON or charset != "utf-8":
        raise Refusal(
            415,
            'Send the operation as a JSON object ({"query": …, "variables": …}) with '
            "Content-Type: application/json (UTF-8).",
            {"accept-post": JSON},
        )


def _failed_before_execution(result: ExecutionResult) -> bool:
    """Whether nothing ran: a field's error always has a path, a request's never."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or [])
    )


class _WebSocketWithinLimit(ASGIWebSocketAdapter):
    """Strawberry's WebSocket adapter, closing (1009) on a message over the size limit."""

    def __init__(
        self,
        view: AsyncBaseHTTPView[Any, Any, Any, Any, Any, Any, Any],
        request: WebSocket,
        response: WebSocket,
    ) -> None:
        super().__init__(view, request, response)
        self.max_bytes = cast(GraphQLOverHTTP, view).max_body_bytes

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        # Strawberry's loop, with the size check before decoding.
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if len(text.encode()) > self.max_bytes:
                    await self.ws.close(1009, f"Messages are limited to {self.max_bytes} bytes")
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


class GraphQLOverHTTP(GraphQL[Context, None]):
    """Strawberry's ASGI view, answering as the GraphQL-over-HTTP spec asks."""

    websocket_adapter_class = _WebSocketWithinLimit

    def __init__(
        self,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_upload_bytes: int = uploads.DEFAULT_MAX_UPLOAD_BYTES,
        persisted_queries: persisted.DocumentCache | None = None,
        **kwargs: Any,
    ) -> None:
        # Multipart requests (file uploads) only with a preflight header (api/uploads.py).
        super().__init__(multipart_uploads_enabled=True, **kwargs)
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        # None: persisted queries are answered PersistedQueryNotSupported.
        self.persisted_queries = persisted_queries

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A persisted query's GET has no "query" parameter, which Strawberry takes for a
        # browser asking for the playground (or, with it off, answers 404).
        return "extensions" not in request.query_params and bool(
            super().should_render_graphql_ide(request)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        limit, too_large = self.max_body_bytes, None
        if request.method == "POST" and uploads.is_multipart(request):
            limit = self.max_upload_bytes
            too_large = uploads.too_large_message(limit)
        request = Request(scope, receive=_limit_receive(receive, limit, too_large))
        media_type = choose_media_type(request.headers.get("accept"))
        try:
            response = await self._answer(request)
        except Refusal as exc:
            response = error_response(
                exc.status, exc.message, media_type=media_type, headers=exc.headers
            )
        except HTTPException as exc:
            response = error_response(exc.status_code, exc.reason, media_type=media_type)
        else:
            if response.media_type == JSON:  # a GraphQL response, not the playground's page
                response.headers["content-type"] = f"{media_type}; charset=utf-8"
                response.status_code = getattr(request.state, "status", response.status_code)
        finally:
            # Uploaded files wait in temporary files until the form is closed.
            await request.close()
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            raise Refusal(
                405, f"Use GET or POST, not {request.method}.", {"allow": ALLOWED_METHODS}
            )
        if request.method == "POST" and uploads.is_multipart(request):
            _check_size(
                request, self.max_upload_bytes, uploads.too_large_message(self.max_upload_bytes)
            )
            if (refused := uploads.missing_preflight(request)) is not None:
                raise Refusal(400, refused)
            return await self.run(request)
        _check_size(request, self.max_body_bytes)
        if request.method == "POST":
            _check_content_type(request)
        return await self.run(request)

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses invalid UTF-8 and nesting deeper than 1,024 with a JSONDecodeError
        # (json.loads raised UnicodeDecodeError and RecursionError, answered 500).
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            if "surrogate" not in str(exc):
                raise
            # An unpaired surrogate escape (\uD800) is valid JSON that orjson refuses, and
            # JavaScript's JSON.stringify writes one for broken text. Refusing the body would
            # refuse a whole syncPush for one bad field, every time it is resent: decode it,
            # and let the argument rules and the write path refuse just that value.
            try:
                return json.loads(data)
            except (RecursionError, ValueError):
                raise exc from None

    def parse_json(self, data: str | bytes) -> Any:
        try:
            value = self.decode_json(data)
        except json.JSONDecodeError as exc:
            raise HTTPException(400, f"The body is not valid JSON: {exc}.") from exc
        if not isinstance(value, dict | list):
            kind = JSON_KINDS.get(type(value), "null")
            raise HTTPException(
                400, f'Expected a JSON object such as {{"query": "{{ me {{ id }} }}"}}, not {kind}.'
            )
        return value

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        parsed = await super().parse_http_body(request)
        # Strawberry checks query, variables and extensions, but not this one.
        if isinstance(parsed, GraphQLRequestData) and not isinstance(
            parsed.operation_name, str | None
        ):
            raise Refusal(400, "operationName must be a string or null.")
        return parsed

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Strawberry's, with subscriptions refused over HTTP (they need the WebSocket; Strawberry
        # let them through for transports Rapport does not offer, and they failed inside) and
        # its plain-text refusals turned into answers a client can read.
        over_get = request_adapter.method == "GET"
        allowed = (
            {OperationType.QUERY} if over_get else {OperationType.QUERY, OperationType.MUTATION}
        )
        try:
            found = self._find_persisted_query(request_data)
        except (persisted.PersistedQueryNotFound, persisted.PersistedQueryNotSupported) as exc:
            # Apollo's clients look for this message or code and resend with the query.
            name = type(exc).__name__
            code = "PERSISTED_QUERY_NOT_FOUND"
            if isinstance(exc, persisted.PersistedQueryNotSupported):
                code = "PERSISTED_QUERY_NOT_SUPPORTED"
            error = GraphQLError(name, extensions={"code": code})
            return ExecutionResult(data=None, errors=[error])
        except persisted.BadPersistedQuery as exc:
            raise Refusal(400, str(exc)) from None
        if found is not None:
            request_data = dataclasses.replace(request_data, query=found[0])
        result = await self.answer_before_execution(request_data, context)
        if result is None:
            result = await self._execute(request_data, context, root_value, allowed)
            self.after_execution(request_data, context)
        if (
            found is not None
            and found[1].sent_query
            and self.persisted_queries is not None
            and not _failed_before_execution(result)
        ):
            # Kept once it parsed, validated and ran, so junk never takes a place in the store.
            self.persisted_queries.put(found[1].sha256_hash, found[0])
        return result

    async def _execute(
        self,
        request_data: GraphQLRequestData,
        context: Context,
        root_value: None,
        allowed: set[OperationType],
    ) -> ExecutionResult:
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except MissingQueryError:
            raise Refusal(400, 'Send the operation\'s text in "query".') from None
        except CannotGetOperationTypeError as exc:
            # A GraphQL request error, answered like a validation failure.
            message = (
                f'The document has no operation named "{exc.operation_name}".'
                if exc.operation_name is not None
                else "The document has several operations (or none): name the one to run "
                "in operationName."
            )
            error = GraphQLError(message, extensions={"code": "BAD_REQUEST"})
            return ExecutionResult(data=None, errors=[error])
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise Refusal(
                    400, "Subscriptions run over a WebSocket to /graphql (graphql-transport-ws)."
                ) from None
            raise Refusal(405, "Mutations need POST.", {"allow": "POST"}) from None

    async def answer_before_execution(
        self, request_data: GraphQLRequestData, context: Context
    ) -> ExecutionResult | None:
        """An answer found without running Strawberry's execution, or None (the default)."""
        return None

    def after_execution(self, request_data: GraphQLRequestData, context: Context) -> None:
        """Called after Strawberry executed a request (the default does nothing)."""

    def _find_persisted_query(
        self, request_data: GraphQLRequestData
    ) -> tuple[str, persisted.PersistedQuery] | None:
        extension = persisted.read_extension(request_data.extensions)
        if extension is None:
            return None
        return persisted.resolve_query(self.persisted_queries, extension, request_data.query)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        body = await super().process_result(request, result)
        if _failed_before_execution(result) and (
            choose_media_type(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON
        ):
            del body["data"]
            codes = {(e.extensions or {}).get("code") for e in result.errors or []}
            if "INTERNAL_SERVER_ERROR" in codes:
                request.state.status = 500
            elif not codes <= PERSISTED_QUERY_CODES:
                request.state.status = 400
            # else 200: the APQ handshake's first answer, as Apollo's servers give it (a
            # client's link reads it from the body before any status handling).
        return body


__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "EXCEPTION_HANDLERS",
    "GRAPHQL_RESPONSE_JSON",
    "GraphQLOverHTTP",
    "choose_media_type",
    "error_response",
]
