"""The seams into Strawberry: answers given before field execution starts.

Strawberry 0.341 runs graphql-core's execution only ``if not execution_context.result``
(``Schema._execute_operation``); setting the result in ``on_execute``, after parsing,
validation and the limits ran, skips every resolver. The ``data`` is an ``orjson.Fragment``:
the view's orjson writes the statement's text into the response without parsing it.

A text Strawberry has validated once validates the same way every time (its parse and
validation caches say so too). Once this path has answered a text, the HTTP view remembers it
(``CompiledReads.remember``) and ``answer_validated`` answers a repeat without Strawberry's
per-request machinery (six extensions built, the caches' lookups, hashing the document): the
same answer for less of the server's time. Anything it cannot answer goes through Strawberry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import orjson
from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from reads.service import CompiledReads, Request, Validated


class CompileReads(SchemaExtension):
    """Answer query operations through ``context.compiled_reads`` when it is set."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        reads: CompiledReads | None = getattr(context.context, "compiled_reads", None)
        answered = context.result is not None  # by reads.pull's CompilePull
        if reads is not None and not answered and context.operation_type is OperationType.QUERY:
            document = context.graphql_document
            operation = (
                None if document is None else get_operation_ast(document, context.operation_name)
            )
            if document is None or operation is None or context.query is None:
                reads.fell_back += 1
            else:
                result = await _answer(
                    reads,
                    context.context,
                    # Strawberry keeps graphql-core's schema, which graphql-core's helpers take.
                    context.schema._schema,
                    document,
                    operation,
                    context.query,
                    context.operation_name,
                    context.variables,
                )
                if result is not None:
                    context.result = result
                    # The HTTP view remembers the text with the operationName it was sent with.
                    context.context.validated = Validated(document, operation)
        yield


async def answer_validated(
    reads: CompiledReads,
    ctx: Any,
    schema: GraphQLSchema,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> ExecutionResult | None:
    """Answer a query text Strawberry validated before, or None: run it through Strawberry."""
    known = reads.validated(query, operation_name)
    if known is None or not ctx.authorization:
        return None  # (without a token, Strawberry's path counts the fallback)
    result = await _answer(
        reads, ctx, schema, known.document, known.operation, query, operation_name, variables
    )
    if result is None:
        # Tried and fell back: the resolvers answer, and CompileReads must not run the same
        # statement again on the way to them.
        ctx.compiled_reads = None
    return result


async def _answer(
    reads: CompiledReads,
    ctx: Any,
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    query: str,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> ExecutionResult | None:
    if not ctx.authorization:
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
        schema=schema,
        query=query,
        document=document,
        operation=operation,
        operation_name=operation_name,
        variables=variables,
        owner_id=owner_id,
        now=ctx.clock.now(),
        max_page_size=ctx.max_page_size,
    )
    text = await reads.answer(ctx.engine, request)
    if text is None:
        return None
    return ExecutionResult(data=cast(dict[str, Any], orjson.Fragment(text)), errors=None)
