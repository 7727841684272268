"""The Starlette application: GraphQL and the playground at /graphql, health probes."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from api import jsonlog, metrics, persisted
from api.auth import Authenticator
from api.export import export_route
from api.mailer import Mailer
from api.playground import DEFAULT_ASSETS_DIR, Playground
from api.refusal import EXCEPTION_HANDLERS
from api.self_service import build_self_service
from api.settings import Settings
from api.throttle import build_throttle, guard_requests
from api.transport import GraphQLOverHTTP
from model.clock import Clock, SystemClock
from reads.extension import answer_validated
from reads.service import CompiledReads
from schema import build_schema
from schema.account import SelfService
from schema.context import Context
from schema.indexes import IntroductionIndexes
from store.engine import create_engine, libpq_url
from store.replica import attach_replica
from sync.feed import ChangeFeed
from transfer.link import ExportLinks

log = logging.getLogger("rapport.api")


class RapportGraphQL(GraphQLOverHTTP):
    """Strawberry's ASGI app, spoken as GraphQL over HTTP, with Rapport's per-request context."""

    def __init__(
        self,
        *,
        authenticator: Authenticator,
        engine: AsyncEngine,
        clock: Clock,
        feed: ChangeFeed,
        playground: Playground | None,
        compiled_reads: CompiledReads | None = None,
        export_links: ExportLinks | None = None,
        self_service: SelfService | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(graphql_ide="graphiql" if playground else None, **kwargs)
        self.authenticator = authenticator
        self.engine = engine
        self.clock = clock
        self.feed = feed
        self.playground = playground
        self.compiled_reads = compiled_reads
        self.export_links = export_links
        self.introductions = IntroductionIndexes(clock)
        self.self_service = self_service
        # graphql-core's schema, which the compiled read path's helpers take.
        assert isinstance(self.schema, strawberry.Schema)
        self.graphql_schema = self.schema._schema

    async def render_graphql_ide(self, request: Request) -> Response:
        # Strawberry's own page loads GraphiQL from a CDN; Rapport's serves every file itself.
        # Only called when the playground is on (graphql_ide is None otherwise).
        assert self.playground is not None
        return self.playground.page(request)

    async def answer_before_execution(
        self, request_data: GraphQLRequestData, context: Context
    ) -> ExecutionResult | None:
        # A query text Strawberry validated before in this process, answered by one statement
        # (reads/extension.py); anything else, and any fallback, runs through Strawberry.
        if self.compiled_reads is None or request_data.query is None:
            return None
        return await answer_validated(
            self.compiled_reads,
            context,
            self.graphql_schema,
            request_data.query,
            request_data.operation_name,
            request_data.variables,
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Counted and timed by operation name and outcome (GET /metrics), and named in logs.
        jsonlog.bind_operation(metrics.operation_label(request_data.operation_name))
        metrics.mark_counted(request.scope)
        answer = super().execute_single
        return await metrics.observe_request(  # type: ignore[no-any-return]
            request_data.operation_name,
            lambda: answer(
                request, request_adapter, sub_response, context, root_value, request_data
            ),
        )

    def after_execution(self, request_data: GraphQLRequestData, context: Context) -> None:
        # Strawberry validated this text and the compiled read path answered it: its repeats
        # are answered before Strawberry (above). The context holds one operation: Strawberry
        # refuses batched requests here (the schema has no batching_config).
        if self.compiled_reads is not None and context.validated is not None:
            assert request_data.query is not None
            self.compiled_reads.remember(
                request_data.query, request_data.operation_name, context.validated
            )

    def encode_json(self, data: object) -> str:
        # orjson is several times faster than json, and writes the pre-built JSON of pulled
        # changes (orjson.Fragment) into the response without parsing it.
        return orjson.dumps(data).decode()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        jsonlog.bind_request(request_id)
        if isinstance(response, Response):
            response.headers["x-request-id"] = request_id
        return Context(
            engine=self.engine,
            clock=self.clock,
            accounts=self.authenticator,
            authorization=request.headers.get("authorization"),
            request_id=request_id,
            introductions=self.introductions,
            feed=self.feed,
            client_address=request.client.host if request.client else "unknown",
            # Over HTTP only: a WebSocket's queries keep the resolvers.
            compiled_reads=self.compiled_reads if isinstance(response, Response) else None,
            export_links=self.export_links,
            self_service=self.self_service,
        )


def create_app(
    settings: Settings,
    *,
    database_url: str,
    clock: Clock | None = None,
    mailer: Mailer | None = None,
) -> Starlette:
    """Build the app; the engine and clients are created in its lifespan, not at import."""
    clock = clock or SystemClock()
    engine = create_engine(
        database_url,
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.max_overflow,
        pgbouncer=settings.database.pgbouncer,
    )
    metrics.watch_pool(engine)
    replica = None
    if settings.database.replica_url:
        replica = create_engine(
            settings.database.replica_url,
            pool_size=settings.database.pool_size,
            max_overflow=settings.database.max_overflow,
            pgbouncer=settings.database.pgbouncer,
        )
        attach_replica(engine, replica)
    firebase = None
    if settings.auth.firebase_project_id:
        from api.firebase import FirebaseVerifier

        firebase = FirebaseVerifier(
            settings.auth.firebase_project_id, settings.auth.firebase_cert_url
        )
    signing_key = settings.signing_key()
    export_links = ExportLinks(signing_key, clock)
    authenticator = Authenticator(
        engine=engine,
        clock=clock,
        signing_key=signing_key,
        access_ttl=timedelta(seconds=settings.auth.access_token_ttl_seconds),
        refresh_ttl=timedelta(days=settings.auth.refresh_token_ttl_days),
        cheap_hashing=settings.auth.password_hash_profile == "cheapest",  # noqa: S105
        firebase=firebase,
        session_recheck=timedelta(seconds=settings.auth.session_recheck_seconds),
        throttle=build_throttle(settings.limits, engine),
    )
    schema = build_schema(
        max_depth=settings.limits.max_query_depth,
        max_aliases=settings.limits.max_aliases,
        max_tokens=settings.limits.max_tokens,
        introspection=settings.introspection_on,
    )
    # LISTEN holds a session: never through PgBouncer's transaction pooling.
    feed = ChangeFeed(libpq_url(settings.direct_url(database_url)))
    playground = (
        Playground(settings.graphql.playground_assets or DEFAULT_ASSETS_DIR)
        if settings.playground_on
        else None
    )
    compiled_reads = CompiledReads() if settings.graphql.compiled_reads else None
    persisted_queries = (
        persisted.DocumentCache(
            max_documents=settings.graphql.persisted_queries_max_documents,
            max_bytes=settings.graphql.persisted_queries_max_bytes,
        )
        if settings.graphql.persisted_queries_max_documents > 0
        else None
    )
    self_service = build_self_service(
        settings, engine=engine, clock=clock, authenticator=authenticator, mailer=mailer
    )
    graphql = RapportGraphQL(
        schema=schema,
        authenticator=authenticator,
        engine=engine,
        clock=clock,
        feed=feed,
        playground=playground,
        max_body_bytes=settings.limits.max_body_bytes,
        max_upload_bytes=settings.limits.max_upload_bytes,
        compiled_reads=compiled_reads,
        persisted_queries=persisted_queries,
        self_service=self_service.services,
        export_links=export_links,
    )

    guarded = guard_requests(
        graphql, settings.limits, identify=authenticator.claimed_user, clock=clock
    )

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready"; say which
            log.warning("readiness check failed: %s", exc)
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    token = (
        settings.server.metrics_token.get_secret_value() if settings.server.metrics_token else None
    )
    worker = None
    if settings.worker_in_process_on:
        from api.worker import build_worker

        worker = build_worker(settings, database_url, clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await feed.start()
        stop = asyncio.Event()
        task = None
        if worker is not None:
            # `make serve` sends reminders too; production runs `rapport worker` instead.
            task = asyncio.create_task(worker.run(stop, idle_seconds=settings.worker.poll_seconds))
        try:
            yield
        finally:
            if worker is not None and task is not None:
                stop.set()
                await task  # the batch in hand is finished, not dropped
                await worker.sender.close()
                await worker.engine.dispose()
            await self_service.outbox.drain()
            await feed.stop()
            await engine.dispose()
            if replica is not None:
                await replica.dispose()
            if firebase is not None:
                firebase.close()

    app = Starlette(
        routes=[
            # Every method reaches the view, which answers the ones it refuses in JSON.
            Route("/graphql", guarded),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *([Route("/metrics", metrics.metrics_endpoint(token))] if settings.metrics_on else []),
            export_route(engine, export_links, clock),
            *self_service.routes,
            *(playground.routes() if playground else []),
        ],
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        # Refusals answered before any operation ran (405, 413, 429, a bad link...).
        middleware=[Middleware(metrics.CountErrors)],
    )
    app.state.engine = engine
    app.state.authenticator = authenticator
    app.state.schema = schema
    app.state.compiled_reads = compiled_reads
    app.state.persisted_queries = persisted_queries
    return app
