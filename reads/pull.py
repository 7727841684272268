"""syncPull through the compiled path: the page as PostgreSQL renders it, unparsed (issue 13).

A device's pull is the other hot read besides the home screen: polls that find nothing new,
and the pages of a first sync. ``CompilePull`` answers a query operation whose only root
field is ``syncPull`` before field execution starts, as ``CompileReads`` does for the screens'
reads: ``sync.pull.render_changes`` has PostgreSQL join the page's changes into one JSON
array (UTF-8 bytes), which goes into the response as an ``orjson.Fragment``, and the handful of
scalars around it (cursor, hasMore, …) are put in selection order without resolving a field.
The statements, the snapshot and the cursor are those of the resolver (``sync.pull``).

Anything this path does not answer falls through to the resolvers, which answer as always,
errors included: another root field beside ``syncPull``, variables or arguments that do not
coerce, an argument the resolver or ``schema.arguments`` refuses (the rules of ``model.text``
and ``sync.protocol``, asked here too), no token or a refused one,
a cursor from elsewhere, another account's client id, or any fault.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from graphql import FieldNode, GraphQLError, GraphQLObjectType, get_operation_ast
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from model.errors import ValidationFailed
from model.text import check_string
from reads.plan import Fallback, Getter, Inputs
from reads.selection import Fields, collect_fields, find_fragments
from reads.service import CompiledReads
from sync import pull
from sync.client import ClientNotYours
from sync.cursor import InvalidCursor
from sync.protocol import UnsupportedVersion, check_pull

log = logging.getLogger("rapport.reads")

FIELD = "syncPull"
RESULT = "SyncPullResult"


class CompilePull(SchemaExtension):
    """Answer ``syncPull`` operations through ``context.compiled_reads`` when it is set.

    Listed before ``CompileReads``, which leaves an answered operation alone.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        reads: CompiledReads | None = getattr(context.context, "compiled_reads", None)
        if reads is not None and context.operation_type is OperationType.QUERY:
            data = await answer_pull(reads, context)
            if data is not None:
                context.result = ExecutionResult(data=data, errors=None)
        yield


def _asks_pull(operation: Any) -> bool:
    # Every query passes here first: a look at the root's field names settles most of them
    # (a fragment at the root is looked into by collect_fields).
    return any(
        not isinstance(selection, FieldNode) or selection.name.value == FIELD
        for selection in operation.selection_set.selections
    )


async def answer_pull(reads: CompiledReads, context: Any) -> dict[str, Any] | None:
    """Return the operation's ``data``, or None: the resolvers answer it."""
    ctx = context.context
    document = context.graphql_document
    operation = None if document is None else get_operation_ast(document, context.operation_name)
    if operation is None or not _asks_pull(operation) or not ctx.authorization:
        return None
    try:
        owner_id = await ctx.owner_id()
    except Exception:
        return None  # a refused token, or a fault: the resolver meets it again and answers
    schema = context.schema._schema
    try:
        variables = context.variables or {}
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return None  # graphql-core's messages, from the resolver path
        inputs = Inputs(
            variables=coerced,
            owner_id=owner_id,
            now=ctx.clock.now(),
            max_page_size=ctx.max_page_size,
        )
        data = await _answer(ctx, schema, document, operation, inputs)
    except (
        Fallback,
        GraphQLError,
        ValidationFailed,
        UnsupportedVersion,
        InvalidCursor,
        ClientNotYours,
    ):
        return None  # the resolver raises the same, with its message
    except Exception:
        # A fault here must cost speed, never an answer: the resolver still gives one.
        log.exception("the compiled pull failed; answering through the resolver")
        return None
    if data is not None:
        reads.compiled += 1
    return data


async def _answer(
    ctx: Any, schema: Any, document: Any, operation: Any, inputs: Inputs
) -> dict[str, Any] | None:
    def decide(read: Getter, key: Any) -> Any:
        return read(inputs)

    fragments = find_fragments(document)
    query_type = schema.query_type
    roots = collect_fields(schema, fragments, query_type, [operation.selection_set], decide)
    if len(roots) != 1:
        return None
    ((key, nodes),) = roots.items()
    if any(node.name.value != FIELD for node in nodes):
        return None
    arguments = inputs.arguments(query_type.fields[FIELD], nodes[0])
    client_id: str = arguments["clientId"]
    cursor: str | None = arguments.get("cursor")
    limit: int = arguments["limit"]
    # The rules every argument passes before a resolver runs (model.text, as CheckArguments
    # applies them), then the resolver's own (sync.protocol).
    if check_string(client_id, is_id=True) is not None:
        return None
    if cursor is not None and check_string(cursor, is_id=False) is not None:
        return None
    check_pull(client_id, arguments["schemaVersion"], limit)
    result_type = schema.get_type(RESULT)
    assert isinstance(result_type, GraphQLObjectType)
    fields = collect_fields(
        schema, fragments, result_type, [node.selection_set for node in nodes], decide
    )
    page = await pull.render_changes(
        ctx.engine, owner_id=inputs.owner_id, client_id=client_id, cursor=cursor, limit=limit
    )
    return {key: _render(fields, page)}


def _render(fields: Fields, page: pull.RenderedPage) -> dict[str, Any]:
    values: dict[str, Any] = {
        "__typename": RESULT,
        "changes": orjson.Fragment(page.changes),
        "cursor": page.cursor,
        "hasMore": page.has_more,
        "reset": page.reset,
        "lastMutationId": page.last_mutation_id,
        "serverHlc": page.server_hlc,
    }
    return {key: values[nodes[0].name.value] for key, nodes in fields.items()}
