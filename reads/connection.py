"""A connection (edges, nodes, pageInfo, totalCount) rendered from a page of rows.

The page is made as ``schema``'s build_connection makes it; each list renders its own rows
(``reads.contact_list``, ``reads.interaction_list``).
"""

from __future__ import annotations

from collections.abc import Callable

from graphql import FieldNode, GraphQLField, GraphQLObjectType, get_named_type

from reads.columns import Row
from reads.compiler import Compiler
from reads.plan import NotCompilable

# Reads a page's rows: (the columns the page renders, its LIMIT) to a SELECT.
Source = Callable[[set[str], str], str]


def render_connection(
    compiler: Compiler,
    definition: GraphQLField,
    nodes: list[FieldNode],
    *,
    first: str,
    source: Callable[[set[str], str], str],
    order: Callable[[str], str],
    cursor: Callable[[Row], str],
    node: Callable[[list[FieldNode], Row], str],
    count: str,
    after_given: bool = False,
    before_given: bool = False,
    backward: bool = False,
) -> str:
    """Render a page as build_connection makes it, from ``first + 1`` rows of ``source``.

    ``p`` numbers the fetched rows; ``q`` renders each row's node and cursor once (only
    for rows on the page), and the outer select aggregates them. Nothing is fetched when
    only ``totalCount`` or ``__typename`` is asked for. ``backward``, ``source`` and
    ``order`` read in the reversed order (row 1 is the one nearest ``before``), and the
    page is rendered from its highest number down, so in the list's normal order.

    Without ``pageInfo`` (a forward page of ``nodes`` or ``edges``, as the home screen
    asks of each contact's interactions) nothing needs the extra row or the numbers:
    ``source`` reads ``first`` rows and they are aggregated in the order it reads them.
    The window functions and the extra row cost about a tenth of the home statement's time.
    """
    connection_type = get_named_type(definition.type)
    assert isinstance(connection_type, GraphQLObjectType)
    edge_type = get_named_type(connection_type.fields["edges"].type)
    page_info_type = get_named_type(connection_type.fields["pageInfo"].type)
    assert isinstance(edge_type, GraphQLObjectType)
    assert isinstance(page_info_type, GraphQLObjectType)
    fields = compiler.collect(connection_type, nodes)
    numbered = backward or any(f[0].name.value == "pageInfo" for f in fields.values())
    s, p, q = compiler.alias("s"), compiler.alias("p"), compiler.alias("q")
    row = Row(p, inner=s if numbered else None)
    columns: list[str] = []  # q's select list
    uses_rows = False
    uses_fetched = False
    on_page = f"{p}.n <= {first}"
    # Without numbers the rows come straight from ``source``'s ORDER BY ... LIMIT, with no
    # join or grouping between it and the aggregate, so they arrive in order: an ORDER BY
    # in the aggregate would sort each contact's few interactions again (PostgreSQL 15
    # always sorts an aggregate's input), about a twentieth of the home statement's time.
    # The sources order by interaction_participants' copy of occurred_at, which each write
    # keeps equal to the interaction's in the same transaction (sync/interaction.py).
    in_order = f" ORDER BY {q}.n DESC" if backward else f" ORDER BY {q}.n" if numbered else ""
    # The page's row nearest where reading began, and the one farthest from it.
    nearest = f"{p}.n = 1 AND {p}.n <= {first}"
    farthest = f"{p}.n = least({p}.fetched, {first})"
    more = f"CASE WHEN count(*) > {first} THEN 'true' ELSE 'false' END"

    def page_only(value: str) -> str:
        return f"CASE WHEN {on_page} THEN {value} END" if numbered else value

    def cursor_at(name: str, where: str) -> str:
        nonlocal uses_fetched
        uses_fetched = uses_fetched or where == farthest
        if not any(col.endswith(f" AS {name}") for col in columns):
            columns.append(f"CASE WHEN {where} THEN {cursor(row)} END AS {name}")
        return f"coalesce('\"' || max({q}.{name}) || '\"', 'null')"

    def node_column(field_nodes: list[FieldNode]) -> str:
        name = f"node{len(columns)}"
        columns.append(f"{page_only(node(field_nodes, row))} AS {name}")
        return f"{q}.{name}"

    def cursor_column() -> str:
        if not any(col.endswith(" AS cursor") for col in columns):
            columns.append(f"{page_only(cursor(row))} AS cursor")
        return f"{q}.cursor"

    def edge(field_nodes: list[FieldNode]) -> str:
        def render_field(name: str, edge_nodes: list[FieldNode]) -> str:
            if name == "cursor":
                return f"('\"' || {cursor_column()} || '\"')"
            if name == "node":
                return node_column(edge_nodes)
            raise NotCompilable

        body = compiler.render_object(
            edge_type, compiler.collect(edge_type, field_nodes), render_field
        )
        on_page_only = f" FILTER (WHERE {q}.n <= {first})" if numbered else ""
        return f"('[' || coalesce(string_agg({body}, ','{in_order}){on_page_only}, '') || ']')"

    def page_info(field_nodes: list[FieldNode]) -> str:
        def render_field(name: str, info_nodes: list[FieldNode]) -> str:
            # build_connection's rules: the side reading went towards is known from the
            # extra row; the side it started from, from whether a cursor was given.
            if name == "hasNextPage":
                return ("'true'" if before_given else "'false'") if backward else more
            if name == "hasPreviousPage":
                return more if backward else ("'true'" if after_given else "'false'")
            if name == "endCursor":
                return cursor_at("end_cursor", nearest if backward else farthest)
            if name == "startCursor":
                return cursor_at("start_cursor", farthest if backward else nearest)
            raise NotCompilable

        return compiler.render_object(
            page_info_type, compiler.collect(page_info_type, field_nodes), render_field
        )

    def render_field(name: str, field_nodes: list[FieldNode]) -> str:
        nonlocal uses_rows
        if name == "totalCount":
            return f"({count})::text"
        uses_rows = True
        if name == "nodes":
            return (
                f"('[' || coalesce(string_agg({node_column(field_nodes)}, ','{in_order}), "
                "'') || ']')"
            )
        if name == "edges":
            return edge(field_nodes)
        if name == "pageInfo":
            return page_info(field_nodes)
        raise NotCompilable

    body = compiler.render_object(connection_type, fields, render_field)
    if not uses_rows:
        return f"(SELECT {body})"
    if not numbered:
        selected = ", ".join([f"{p}.*", *columns])
        rows = source(row.columns, first)
        return f"(SELECT {body} FROM (SELECT {selected} FROM ({rows}) {p}) {q})"
    selected = ", ".join([f"{p}.n", *columns])
    fetched = ", count(*) OVER () AS fetched" if uses_fetched else ""
    shared = "".join(f"{sql} AS {name}, " for name, sql in row.shared.items())
    numbered_rows = (
        f"SELECT {s}.*, {shared}row_number() OVER (ORDER BY {order(s)}) AS n{fetched} "
        f"FROM ({source(row.columns, f'{first} + 1')}) {s}"
    )
    return f"(SELECT {body} FROM (SELECT {selected} FROM ({numbered_rows}) {p}) {q})"
