"""The sync protocol over GraphQL: syncPull, syncPush, conflicts, and the changes subscription.

docs/sync.md explains the protocol to a mobile developer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, cast

import orjson
import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON
from strawberry.types import Info

from model.errors import ValidationFailed
from model.ids import parse_uuid
from model.pages import DEFAULT_PAGE
from schema.context import Context
from schema.errors import NotFound, ValidationError, bad_input
from schema.pagination import Connection, build_connection, check_first, counting, read_after
from schema.write import run_write
from sync import conflict, pull, push
from sync.client import ClientNotYours, check_client
from sync.cursor import InvalidCursor
from sync.protocol import UnsupportedVersion, check_client_id, check_pull, check_push

strawberry.enum(push.Status, description="What happened to one pushed mutation.")
strawberry.enum(conflict.Keep, description="Which value of a conflict to keep.")


@contextmanager
def _refusals() -> Iterator[None]:
    """Raise what the protocol's rules (``sync.protocol``) refuse as GraphQL errors."""
    try:
        yield
    except UnsupportedVersion as exc:
        raise GraphQLError(
            exc.message,
            extensions={
                "code": "VERSION_NOT_SUPPORTED",
                "minimum": exc.minimum,
                "current": exc.current,
            },
        ) from None
    except ValidationFailed as exc:
        raise bad_input(exc.errors[0].field, exc.errors[0].message) from None
    except ClientNotYours as exc:
        raise bad_input("clientId", str(exc)) from None
    except InvalidCursor:
        raise bad_input(
            "cursor", "this cursor was not issued by this server; pull with cursor: null"
        ) from None


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

    @classmethod
    def from_result(cls, result: push.PushResult) -> SyncPushResult:
        return cls(
            last_mutation_id=result.last_mutation_id,
            results=[
                SyncMutationResult(id=r.id, status=r.status, reason=r.reason)
                for r in result.results
            ],
            resend_from=result.resend_from,
            server_hlc=result.server_hlc,
            clock_restamped=result.clock_restamped,
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
        with _refusals():
            check_pull(client_id, schema_version, limit)
            page = await pull.collect_changes(
                ctx.engine, owner_id=owner_id, client_id=client_id, cursor=cursor, limit=limit
            )
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
        count = counting(ctx.engine, conflict.count_conflicts, owner_id=owner_id)
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
        mutations = [
            push.Mutation(m.id, m.name, m.args if isinstance(m.args, dict) else {})
            for m in input.mutations
        ]
        with _refusals():
            check_push(input.client_id, input.schema_version, mutations)
            result = await push.apply_push(
                ctx.engine,
                owner_id=owner_id,
                client_id=input.client_id,
                mutations=mutations,
                clock=ctx.clock,
            )
        return SyncPushResult.from_result(result)

    @strawberry.mutation(description="Close a conflict, keeping the winning or the losing value.")
    async def resolve_sync_conflict(
        self, info: Info[Context, None], id: strawberry.ID, keep: conflict.Keep
    ) -> ConflictResult:
        return await run_write(
            info.context,
            lambda w: conflict.resolve_conflict(w, parse_uuid("id", id), keep),
            SyncConflict.from_row,
        )


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
        with _refusals():
            check_client_id(client_id)
            async with ctx.engine.connect() as conn:
                await check_client(conn, owner_id=owner_id, client_id=client_id)
        async for poke in ctx.feed.pokes(owner_id, client_id):
            yield SyncPoke(cursor=poke.cursor, version=poke.version)


__all__ = ["SyncMutation", "SyncQuery", "SyncSubscription"]
