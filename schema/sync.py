"""The sync protocol over GraphQL: syncPull, syncPush, conflicts, and the changes subscription.

docs/sync.md explains the protocol to a mobile developer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from typing import Annotated, Any, cast

import orjson
import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON
from strawberry.types import Info

from model import errors
from model.ids import parse_uuid
from schema.context import Context
from schema.errors import NotFound, ValidationError, bad_input, not_found, validation_error
from schema.pagination import DEFAULT_PAGE, Connection, build_connection, check_first, read_after
from sync import conflict, pull, push
from sync.client import MAX_CLIENT_ID, ClientNotYours, check_client
from sync.cursor import BOUNDARY, InvalidCursor, Position, encode_cursor
from sync.writer import open_writer

# Clients older than this must upgrade before they sync.
MIN_SCHEMA_VERSION = 1
CURRENT_SCHEMA_VERSION = 1

strawberry.enum(push.Status, description="What happened to one pushed mutation.")
strawberry.enum(conflict.Keep, description="Which value of a conflict to keep.")


def _check_protocol(client_id: str, schema_version: int) -> None:
    if schema_version < MIN_SCHEMA_VERSION or schema_version > CURRENT_SCHEMA_VERSION:
        raise GraphQLError(
            f"schemaVersion {schema_version} is not supported; this server speaks "
            f"{MIN_SCHEMA_VERSION} to {CURRENT_SCHEMA_VERSION}. Update the app.",
            extensions={
                "code": "VERSION_NOT_SUPPORTED",
                "minimum": MIN_SCHEMA_VERSION,
                "current": CURRENT_SCHEMA_VERSION,
            },
        )
    _check_client_id(client_id)


def check_pull(client_id: str, schema_version: int, limit: int) -> None:
    """Raise the GraphQL error a syncPull with these arguments answers, if any.

    The compiled path (reads/pull.py) asks too, and leaves a refused pull to the resolver.
    """
    _check_protocol(client_id, schema_version)
    if not 1 <= limit <= pull.MAX_PAGE:
        raise bad_input("limit", f"ask for 1 to {pull.MAX_PAGE} changes per page")


def _check_client_id(client_id: str) -> None:
    if not 1 <= len(client_id) <= MAX_CLIENT_ID:
        raise bad_input(
            "clientId", f"use 1 to {MAX_CLIENT_ID} characters, such as a UUID per install"
        )


def _client_error(exc: ClientNotYours) -> GraphQLError:
    return bad_input("clientId", str(exc))


@strawberry.type
class SyncPullResult:
    changes: JSON = strawberry.field(
        description=(
            "The changed rows, oldest version first; each is {entity, id, deleted, cl, "
            "serverVersion, fields, clocks, derived} (docs/sync.md, section 2)."
        )
    )
    cursor: str | None = strawberry.field(description="Store it after applying the page; opaque.")
    has_more: bool = strawberry.field(description="Pull again at once with the new cursor.")
    reset: bool = strawberry.field(
        description="Drop your local copy and pull from scratch (cursor: null)."
    )
    last_mutation_id: int | None = strawberry.field(
        description="Your last pushed mutation whose effects this page already contains."
    )
    server_hlc: str = strawberry.field(description="Receive it into your clock.")


@strawberry.input
class SyncMutationInput:
    id: int = strawberry.field(description="1, 2, 3… per clientId, never reused.")
    name: str = strawberry.field(description="contact.put, tag.setMembership, … (docs/sync.md)")
    args: JSON


@strawberry.input
class SyncPushInput:
    client_id: strawberry.ID
    schema_version: int
    mutations: list[SyncMutationInput]


@strawberry.type
class SyncMutationResult:
    id: int
    status: push.Status
    reason: str | None


@strawberry.type
class SyncPushResult:
    last_mutation_id: int = strawberry.field(description="Drop pending mutations up to this id.")
    results: list[SyncMutationResult]
    resend_from: int | None = strawberry.field(
        description="Set when a mutation id was skipped: resend from this id."
    )
    server_hlc: str
    clock_restamped: bool = strawberry.field(
        description="Your clock ran more than 5 minutes ahead; fix the device clock."
    )


@strawberry.type(description="The losing value of two edits made at the same time.")
class SyncConflict:
    id: strawberry.ID
    entity: str
    entity_id: strawberry.ID
    field: str
    losing_value: str | None
    winning_value: str | None
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: Any) -> SyncConflict:
        return cls(
            id=strawberry.ID(str(row["id"])),
            entity=row["entity"],
            entity_id=strawberry.ID(str(row["entity_id"])),
            field=row["field"],
            losing_value=row["losing_value"],
            winning_value=row["winning_value"],
            created_at=row["created_at"],
        )


@strawberry.type(description="Something changed; pull from your cursor.")
class SyncPoke:
    cursor: str | None = strawberry.field(description="The feed's position now, if known.")
    version: int | None


ConflictResult = Annotated[
    SyncConflict | NotFound | ValidationError, strawberry.union("ConflictResult")
]


def _pull_result(page: pull.PullPage) -> SyncPullResult:
    # Each change is JSON text from PostgreSQL; orjson writes it into the response as it is.
    changes = [orjson.Fragment(change) for change in page.changes]
    return SyncPullResult(
        changes=cast(JSON, changes),
        cursor=page.cursor,
        has_more=page.has_more,
        reset=page.reset,
        last_mutation_id=page.last_mutation_id,
        server_hlc=page.server_hlc,
    )


@strawberry.type
class SyncQuery:
    @strawberry.field(description="Changes since your cursor, one page at a time.")
    async def sync_pull(
        self,
        info: Info[Context, None],
        client_id: strawberry.ID,
        schema_version: int,
        cursor: str | None = None,
        limit: int = 500,
    ) -> SyncPullResult:
        ctx = info.context
        owner_id = await ctx.owner_id()
        check_pull(client_id, schema_version, limit)
        try:
            page = await pull.collect_changes(
                ctx.engine, owner_id=owner_id, client_id=client_id, cursor=cursor, limit=limit
            )
        except InvalidCursor:
            raise bad_input(
                "cursor", "this cursor was not issued by this server; pull with cursor: null"
            ) from None
        except ClientNotYours as exc:
            raise _client_error(exc) from None
        return _pull_result(page)

    @strawberry.field(description="Open conflicts, newest first.")
    async def sync_conflicts(
        self, info: Info[Context, None], first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[SyncConflict]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        first = check_first(first, ctx.max_page_size)
        cursor = read_after("conflicts", conflict.OPEN_ORDER, after)
        async with ctx.engine.connect() as conn:
            rows = await conflict.list_conflicts(
                conn, owner_id=owner_id, after=cursor, limit=first + 1
            )

        async def count() -> int:
            async with ctx.engine.connect() as conn:
                return await conflict.count_conflicts(conn, owner_id=owner_id)

        return build_connection(
            rows,
            first,
            "conflicts",
            conflict.OPEN_ORDER,
            SyncConflict.from_row,
            count,
            after=cursor is not None,
        )


@strawberry.type
class SyncMutation:
    @strawberry.mutation(description="Apply a device's pending mutations, each exactly once.")
    async def sync_push(self, info: Info[Context, None], input: SyncPushInput) -> SyncPushResult:
        ctx = info.context
        owner_id = await ctx.owner_id()
        _check_protocol(input.client_id, input.schema_version)
        if len(input.mutations) > push.MAX_MUTATIONS:
            raise bad_input(
                "input.mutations", f"push at most {push.MAX_MUTATIONS} mutations at a time"
            )
        if any(m.id < 1 for m in input.mutations):
            raise bad_input("input.mutations", "mutation ids start at 1")
        mutations = [
            push.Mutation(m.id, m.name, m.args if isinstance(m.args, dict) else {})
            for m in input.mutations
        ]
        try:
            result = await push.apply_push(
                ctx.engine,
                owner_id=owner_id,
                client_id=input.client_id,
                mutations=mutations,
                clock=ctx.clock,
            )
        except ClientNotYours as exc:
            raise _client_error(exc) from None
        return SyncPushResult(
            last_mutation_id=result.last_mutation_id,
            results=[
                SyncMutationResult(id=r.id, status=r.status, reason=r.reason)
                for r in result.results
            ],
            resend_from=result.resend_from,
            server_hlc=result.server_hlc,
            clock_restamped=result.clock_restamped,
        )

    @strawberry.mutation(description="Close a conflict, keeping the winning or the losing value.")
    async def resolve_sync_conflict(
        self, info: Info[Context, None], id: strawberry.ID, keep: conflict.Keep
    ) -> ConflictResult:
        ctx = info.context
        owner_id = await ctx.owner_id()
        try:
            conflict_id = parse_uuid("id", id)
            async with open_writer(ctx.engine, owner_id, ctx.clock) as w:
                row = await conflict.resolve_conflict(w, conflict_id, keep)
        except errors.ValidationFailed as exc:
            return validation_error(exc)
        except errors.NotFound as exc:
            return not_found(exc)
        return SyncConflict.from_row(row)


@strawberry.type
class SyncSubscription:
    @strawberry.subscription(description="A poke whenever your data changes; then pull.")
    async def changes(
        self, info: Info[Context, None], client_id: strawberry.ID
    ) -> AsyncGenerator[SyncPoke, None]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        if ctx.feed is None:
            raise GraphQLError(
                "live changes are not available on this server; pull periodically",
                extensions={"code": "BAD_USER_INPUT"},
            )
        # The rule of syncPull and syncPush: a client id belongs to the account that used it first.
        _check_client_id(client_id)
        try:
            async with ctx.engine.connect() as conn:
                await check_client(conn, owner_id=owner_id, client_id=client_id)
        except ClientNotYours as exc:
            raise _client_error(exc) from None
        async with ctx.feed.subscribe(owner_id) as queue:
            # A first poke at once: changes made before the subscription started count too.
            yield SyncPoke(cursor=None, version=None)
            while True:
                notice = await queue.get()
                if notice.origin is not None and notice.origin == client_id:
                    continue  # the device's own push: it learns the result from its pull
                cursor = (
                    None
                    if notice.epoch is None or notice.version is None
                    else encode_cursor(notice.epoch, Position(notice.version, BOUNDARY, ()))
                )
                yield SyncPoke(cursor=cursor, version=notice.version)


__all__ = ["SyncMutation", "SyncQuery", "SyncSubscription", "check_pull"]
