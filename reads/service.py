"""Answer a validated query operation with one statement, or say the resolvers must."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode
from graphql.execution.values import get_variable_values
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import greenlet_spawn

from reads.compile import compile_plan
from reads.plan import Fallback, Inputs, Plan

log = logging.getLogger("rapport.reads")

MAX_DOCUMENTS = 512
# Shapes kept per document (orders x filters present x directives); more compile each time.
MAX_SHAPES = 16
# Documents' text, statements' text and guards, all plans together: the least recently used
# documents go first.
MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    """One operation to answer, as Strawberry validated it."""

    schema: GraphQLSchema
    query: str
    document: DocumentNode
    operation: OperationDefinitionNode
    operation_name: str | None
    variables: dict[str, Any] | None
    owner_id: UUID
    now: datetime
    max_page_size: int


@dataclass(frozen=True)
class Validated:
    """A query operation Strawberry parsed and validated; the same text validates the same."""

    document: DocumentNode
    operation: OperationDefinitionNode


class CompiledReads:
    """The plan cache, the texts answered before, and the counters of one app."""

    def __init__(self) -> None:
        self._plans: OrderedDict[tuple[str, str | None], list[Plan]] = OrderedDict()
        # Texts (and the operationName sent with them) that Strawberry parsed and validated
        # and this path then answered: reads.extension.answer_validated answers them again.
        self._validated: OrderedDict[tuple[str, str | None], Validated] = OrderedDict()
        self._validated_bytes = 0
        self._bytes = 0
        # How many operations each path answered (tests assert the compiled path ran).
        self.compiled = 0
        self.fell_back = 0

    def validated(self, query: str, operation_name: str | None) -> Validated | None:
        """The document and query operation of a text remembered by ``remember``."""
        return self._validated.get((query, operation_name))

    def remember(self, query: str, operation_name: str | None, validated: Validated) -> None:
        """Keep a text Strawberry validated and this path answered (the least recent go)."""
        key = (query, operation_name)
        if key not in self._validated:
            # Bounded like the plans: by count, and by the bytes of the texts kept.
            self._validated_bytes += _size_of_key(key)
        self._validated[key] = validated
        self._validated.move_to_end(key)
        while len(self._validated) > MAX_DOCUMENTS or self._validated_bytes > MAX_BYTES:
            old, _ = self._validated.popitem(last=False)
            self._validated_bytes -= _size_of_key(old)

    async def answer(self, engine: AsyncEngine, request: Request) -> str | None:
        """Return the ``data`` object's JSON text, or None: the resolvers answer."""
        try:
            text = await self._answer(engine, request)
        except Fallback:
            text = None
        except Exception:
            # A fault here must cost speed, never an answer: the resolvers still give one.
            log.exception("the compiled read path failed; answering through the resolvers")
            text = None
        if text is None:
            self.fell_back += 1
        else:
            self.compiled += 1
        return text

    async def _answer(self, engine: AsyncEngine, request: Request) -> str | None:
        operation = request.operation
        coerced = get_variable_values(
            request.schema, operation.variable_definitions or (), request.variables or {}
        )
        if isinstance(coerced, list):
            return None  # the resolvers answer with graphql-core's messages
        inputs = Inputs(
            variables=coerced,
            owner_id=request.owner_id,
            now=request.now,
            max_page_size=request.max_page_size,
        )
        plan = self._plan(request, inputs)
        if plan.sql is None:
            return None
        for check in plan.checks:
            check(inputs)
        return await _run(engine, plan, inputs)

    def _plan(self, request: Request, inputs: Inputs) -> Plan:
        key = (request.query, request.operation_name)
        plans = self._plans.get(key)
        if plans is not None:
            self._plans.move_to_end(key)
            for plan in plans:
                if plan.matches(inputs):
                    return plan
        # Compiled before anything is kept: a request that falls back while compiling (a bad
        # cursor) leaves nothing behind.
        plan = compile_plan(request.schema, request.document, request.operation, inputs)
        if plans is None:
            plans = self._plans[key] = []
            self._bytes += _size_of_key(key)
        if len(plans) < MAX_SHAPES:
            plans.append(plan)
            self._bytes += _size_of_plan(plan)
        self._evict(keep=key)
        return plan

    def _evict(self, keep: tuple[str, str | None]) -> None:
        while (len(self._plans) > MAX_DOCUMENTS or self._bytes > MAX_BYTES) and (
            next(iter(self._plans)) != keep
        ):
            key, plans = self._plans.popitem(last=False)
            self._bytes -= _size_of_key(key) + sum(_size_of_plan(plan) for plan in plans)


# What an entry holds, roughly: the document's text (its key), each plan's SQL, its guards.
_GUARD_BYTES = 200


def _size_of_key(key: tuple[str, str | None]) -> int:
    return len(key[0]) + len(key[1] or "")


def _size_of_plan(plan: Plan) -> int:
    return len(plan.sql or "") + _GUARD_BYTES * len(plan.guards)


TIME_ZONE = "SELECT time_zone FROM users WHERE id = $1"


async def _run(engine: AsyncEngine, plan: Plan, inputs: Inputs) -> str | None:
    """Run the plan's statement on a pooled connection, straight through asyncpg.

    SQLAlchemy's connection, execution options and result objects cost about 0.1 ms of Python
    a statement (a fifth of a compiled request's server time when this was written); asyncpg
    alone sends the statement with no BEGIN (one statement sees one snapshot) and keeps it
    prepared per connection (its statement cache is keyed by the text, which is fixed per
    plan), so a request is one round trip.
    """
    assert plan.sql is not None
    pooled = await engine.raw_connection()
    try:
        connection = pooled.driver_connection
        assert connection is not None
        if plan.needs_time_zone:
            inputs.time_zone = await connection.fetchval(TIME_ZONE, inputs.owner_id)
            if inputs.time_zone is None:
                return None
        params = tuple(read(inputs) for read in plan.params)
        text = await connection.fetchval(plan.sql, *params)
    except asyncpg.PostgresError:
        # The server answered, so the connection is as good as before, unless the error was
        # FATAL (a failover, pg_terminate_backend, an idle timeout) and the server closed it.
        driver = pooled.driver_connection
        if driver is None or driver.is_closed():
            await greenlet_spawn(pooled.invalidate)
        raise
    except BaseException:
        # Broken, or cancelled mid-statement: its state is unknown, so it is not reused.
        await greenlet_spawn(pooled.invalidate)
        raise
    finally:
        # Checked in under SQLAlchemy's greenlet: the pool's reset may talk to the driver.
        await greenlet_spawn(pooled.close)
    # NULL: a condition the statement checks failed (reads.compiler: Compiler.requires).
    assert text is None or isinstance(text, str)
    return text
