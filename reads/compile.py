"""Compile a query operation into one SQL statement that renders its ``data`` as JSON text.

What compiles (anything else raises NotCompilable and the resolvers answer):

- ``me`` (every field), ``tags`` (every field);
- ``contacts(first, after, last, before, orderBy, filter)`` (both directions, both bounds) and
  ``interactions(contactId, first, after)``: ``edges { cursor node }``, ``nodes``,
  ``pageInfo { hasNextPage hasPreviousPage startCursor endCursor }``, ``totalCount``;
- ``contact(id)`` and ``interaction(id)``: the object, or ``NotFound``;
- on ``Contact``: every stored field, ``displayName``, ``emails``/``phones``/``urls``,
  ``birthday``, ``interests``, ``leadDays``, ``tags``, ``introducedBy``, and
  ``interactions(first, after)`` with the same connection fields (``after`` under
  ``contact(id)`` only: under a list, each contact's cursor names that one contact);
- on ``Interaction``: every stored field, ``contacts``, and ``sentiment`` (its ``compound``
  printed as orjson prints a float: ``render.float_number``);
- ``__typename`` anywhere, aliases, fragments, ``@skip`` and ``@include``.

Every value an argument holds is a bound parameter. The SQL's shape depends on a few values
(an order, which filters are present, a directive's condition); each is recorded as a guard,
and a cached plan is reused only by a request whose guards give the same values. Every rule
the resolvers apply to arguments (the page size, a cursor, a filter's ranges, and
``schema.arguments``' text and date rules) is a check: a request that breaks one falls back, so
the resolvers answer it with their own errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from graphql import DocumentNode, FieldNode, GraphQLSchema, OperationDefinitionNode

from reads import contact, contact_list, interaction, interaction_list, lookup, tag, user
from reads.compiler import Compiler
from reads.plan import Getter, Inputs, NotCompilable, Plan
from reads.selection import collect_fields

MAX_PLAN_SQL = 256 * 1024
PLACEHOLDER = re.compile(r"\$(\d+)::")

# The root fields that compile, and what renders each.
ROOTS: dict[str, Callable[[Compiler, list[FieldNode]], str]] = {
    "contacts": contact_list.render_contacts,
    "me": user.render_me,
    "tags": tag.render_tags,
    "contact": lookup.render_contact_lookup,
    "interaction": lookup.render_interaction_lookup,
    "interactions": interaction_list.render_interactions,
}


def compile_plan(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    inputs: Inputs,
) -> Plan:
    """Compile ``operation`` for requests shaped like ``inputs``; ``sql`` None if it can't."""
    compiler = Compiler(
        schema,
        document,
        inputs,
        contact=contact.render_contact,
        interaction=interaction.render_interaction,
    )
    try:
        sql = render_operation(compiler, operation)
    except NotCompilable:
        return Plan(guards=tuple(compiler.guards), sql=None)
    if len(sql) > MAX_PLAN_SQL:
        return Plan(guards=tuple(compiler.guards), sql=None)
    sql, params, unused = _number_parameters(sql, compiler.params)
    return Plan(
        guards=tuple(compiler.guards),
        sql=sql,
        # A parameter the SQL ended up not needing is still read: reading it checks it.
        checks=(*compiler.checks, *unused),
        params=params,
        needs_time_zone=compiler.needs_time_zone,
    )


def _number_parameters(
    sql: str, params: Sequence[Getter]
) -> tuple[str, tuple[Getter, ...], tuple[Getter, ...]]:
    """Drop the parameters ``sql`` never mentions and number the rest from $1.

    PostgreSQL refuses a parameter it cannot type, and one a query does not mention has none
    (a page size, when only totalCount is selected).
    """
    used = sorted({int(n) for n in PLACEHOLDER.findall(sql)})
    numbers = {old: new for new, old in enumerate(used, start=1)}
    renumbered = PLACEHOLDER.sub(lambda m: f"${numbers[int(m.group(1))]}::", sql)
    kept = tuple(params[n - 1] for n in used)
    unused = tuple(read for n, read in enumerate(params, start=1) if n not in numbers)
    return renumbered, kept, unused


def render_operation(compiler: Compiler, operation: OperationDefinitionNode) -> str:
    query = compiler.schema.query_type
    assert query is not None

    def render_field(name: str, nodes: list[FieldNode]) -> str:
        if name not in ROOTS:
            raise NotCompilable
        return ROOTS[name](compiler, nodes)

    fields = collect_fields(
        compiler.schema, compiler.fragments, query, [operation.selection_set], compiler.decide
    )
    body = compiler.render_object(query, fields, render_field)
    if not compiler.requires:
        return "SELECT " + body
    return f"SELECT CASE WHEN {' AND '.join(compiler.requires)} THEN {body} END"
