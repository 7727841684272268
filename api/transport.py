"""GraphQL over HTTP as its spec asks (graphql.github.io/graphql-over-http), on Strawberry's view.

What Strawberry's ASGI view leaves out, and this module adds:

- Media types. A client that accepts ``application/graphql-response+json`` gets it, and a
  request that fails before anything runs (a document that does not parse or validate, an
  unknown ``operationName``, variables that do not coerce) answers 400 without ``data``. With
  ``application/json``, ``*/*`` or no Accept header, such failures keep the older answer:
  200 with ``"data": null``.
  The type is negotiated by ``api.media``.
- Errors of HTTP itself (a body that is not a JSON object, a wrong content type or method, a
  request too large, a path that names nothing) are JSON shaped like GraphQL errors
  (``api.refusal``), never plain text.
- One size limit for everything a client sends: a body (413) and a GET's query string (414),
  checked by ``api.admission``; a WebSocket message (closed with 1009), by ``api.websocket``. A
  multipart upload (the GraphQL multipart request spec) has a larger limit of its own and needs
  a preflight header (``api.admission`` too).
- Automatic persisted queries (``extensions.persistedQuery``, api/persisted.py): the stored
  text replaces a hash before Strawberry parses, so everything after (validation, limits, the
  compiled read path, GET refusing mutations) treats it as if the client had sent it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from api import persisted
from api.admission import (
    DEFAULT_MAX_UPLOAD_BYTES,
    check_content_type,
    check_size,
    is_upload,
    limit_receive,
)
from api.media import GRAPHQL_RESPONSE_JSON, JSON, choose_media_type
from api.refusal import Refusal, error_response
from api.websocket import CountedTransportWS, SizeLimitedWebSocket, count_refusal
from schema.context import Context

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
ALLOWED_METHODS = "GET, POST"


# Answered 200 whatever the media type: part of the APQ handshake, not a failed request.
PERSISTED_QUERY_CODES = {"PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_SUPPORTED"}

JSON_KINDS = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}


def _failed_before_execution(result: ExecutionResult) -> bool:
    """Whether nothing ran: a field's error always has a path, a request's never."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or [])
    )


class GraphQLOverHTTP(GraphQL[Context, None]):
    """Strawberry's ASGI view, answering as the GraphQL-over-HTTP spec asks."""

    websocket_adapter_class = SizeLimitedWebSocket
    graphql_transport_ws_handler_class = CountedTransportWS

    def __init__(
        self,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        persisted_queries: persisted.DocumentCache | None = None,
        **kwargs: Any,
    ) -> None:
        # Multipart requests (file uploads) only with a preflight header (api/admission.py).
        super().__init__(multipart_uploads_enabled=True, **kwargs)
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        # None: persisted queries are answered PersistedQueryNotSupported.
        self.persisted_queries = persisted_queries

    async def reject_websocket(self, request: WebSocket) -> WebSocket:
        # A page of another origin (Strawberry refuses its handshake with 403).
        count_refusal("origin")
        return await super().reject_websocket(request)

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
        upload = is_upload(Request(scope))
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        request = Request(scope, receive=limit_receive(receive, limit, upload=upload))
        media_type = choose_media_type(request.headers.get("accept"))
        try:
            response = await self._answer(request, limit, upload=upload)
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

    async def _answer(self, request: Request, max_bytes: int, *, upload: bool) -> Response:
        if request.method not in ("GET", "POST"):
            raise Refusal(
                405, f"Use GET or POST, not {request.method}.", {"allow": ALLOWED_METHODS}
            )
        check_size(request, max_bytes, upload=upload)
        if request.method == "POST":
            check_content_type(request)
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
