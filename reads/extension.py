"""The seam into Strawberry: an extension that answers before field execution starts.

Strawberry 0.341 runs graphql-core's execution only ``if not execution_context.result``
(``Schema._execute_operation``); setting the result in ``on_execute``, after parsing,
validation and the limits ran, skips every resolver. The ``data`` is an ``orjson.Fragment``:
the view's orjson writes the statement's text into the response without parsing it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import orjson
from graphql import get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from reads.service import CompiledReads, Request


class CompileReads(SchemaExtension):
    """Answer query operations through ``context.compiled_reads`` when it is set."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        reads: CompiledReads | None = getattr(context.context, "compiled_reads", None)
        answered = context.result is not None  # by reads.pull's CompilePull
        if reads is not None and not answered and context.operation_type is OperationType.QUERY:
            text = await _answer(reads, context)
            if text is not None:
                data = cast(dict[str, Any], orjson.Fragment(text))
                context.result = ExecutionResult(data=data, errors=None)
        yield


async def _answer(reads: CompiledReads, context: Any) -> str | None:
    ctx = context.context
    document = context.graphql_document
    operation = None if document is None else get_operation_ast(document, context.operation_name)
    if not ctx.authorization or operation is None or context.query is None:
        reads.fell_back += 1  # without a token, the resolvers say UNAUTHENTICATED
        return None
    try:
        owner_id = await ctx.owner_id()
    except Exception:
        # A refused token, or a fault (the database away): the resolvers meet it again and
        # answer as always; raised from here it would reach the client unmasked.
        reads.fell_back += 1
        return None
    request = Request(
        # Strawberry keeps graphql-core's schema, which graphql-core's helpers take.
        schema=context.schema._schema,
        query=context.query,
        document=document,
        operation=operation,
        operation_name=context.operation_name,
        variables=context.variables,
        owner_id=owner_id,
        now=ctx.clock.now(),
        max_page_size=ctx.max_page_size,
    )
    return await reads.answer(ctx.engine, request)
