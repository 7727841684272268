"""``contact(id)`` and ``interaction(id)``: the object if the owner's and alive, else NotFound."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import FieldNode

from model.errors import ValidationFailed
from model.ids import parse_uuid
from reads import contact, render
from reads.columns import Row
from reads.compiler import OWNER, Compiler
from reads.plan import Fallback, Getter, Inputs, NotCompilable


def render_lookup(
    compiler: Compiler,
    name: str,
    nodes: list[FieldNode],
    found: Callable[[list[FieldNode], Row, Getter], str],
    table: str,
) -> str:
    """A ``*Lookup`` union: the object when it is the owner's and alive, else NotFound.

    An id that does not parse answers the union's ValidationError: the resolvers do that.
    ``found`` renders the object (a row of ``table``) and gets the reader of its id (parsed).
    """
    query = compiler.schema.query_type
    assert query is not None
    args = compiler.read_arguments(query.fields[name], nodes[0])

    def parsed(i: Inputs) -> Any:
        try:
            return parse_uuid("id", args(i)["id"])
        except ValidationFailed:
            raise Fallback from None

    object_id = compiler.bind(parsed, "uuid")
    raw_id = compiler.bind(lambda i: args(i)["id"], "text")
    not_found_type = compiler.find_type("NotFound")

    def not_found(field_name: str, field_nodes: list[FieldNode]) -> str:
        if field_name == "message":
            return render.string(f"'No {name} with id ' || {raw_id} || ' exists for this account.'")
        if field_name == "entity":
            return render.string(render.literal(name))
        if field_name == "id":
            return render.string(raw_id)
        raise NotCompilable

    missing = compiler.render_object(
        not_found_type, compiler.collect(not_found_type, nodes), not_found
    )
    alias = compiler.alias("x")
    return (
        f"coalesce((SELECT {found(nodes, Row(alias), parsed)} "
        f"FROM {table} {alias} WHERE {alias}.owner_id = {OWNER} AND {alias}.id = {object_id} "
        f"AND {alias}.cl % 2 = 1), "
        f"{missing})"
    )


def render_contact_lookup(compiler: Compiler, nodes: list[FieldNode]) -> str:
    return render_lookup(
        compiler,
        "contact",
        nodes,
        lambda field_nodes, row, contact_id: contact.render_contact(
            compiler, field_nodes, row, contact_id
        ),
        "contacts",
    )


def render_interaction_lookup(compiler: Compiler, nodes: list[FieldNode]) -> str:
    return render_lookup(
        compiler,
        "interaction",
        nodes,
        lambda field_nodes, row, _: compiler.render_interaction(field_nodes, row),
        "interactions",
    )
