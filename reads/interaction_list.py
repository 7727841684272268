"""``interactions(contactId, first, after)`` and a contact's own ``interactions``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import FieldNode

from model.errors import ValidationFailed
from model.ids import parse_uuid
from reads import render
from reads.arguments import check_first
from reads.columns import Row
from reads.compiler import OWNER, Compiler
from reads.connection import Source, render_connection
from reads.cursor import after_condition
from reads.plan import Fallback, Getter, Inputs, NotCompilable
from reads.render import Expr
from store import interactions as interaction_store


def render_interactions(compiler: Compiler, nodes: list[FieldNode]) -> str:
    query = compiler.schema.query_type
    assert query is not None
    definition = query.fields["interactions"]
    args = compiler.read_arguments(definition, nodes[0])
    first = compiler.page_size(lambda i: check_first(args(i)["first"], i.max_page_size))

    def contact_id(i: Inputs) -> Any:
        try:
            return parse_uuid("contactId", args(i)["contactId"])
        except ValidationFailed:
            raise Fallback from None

    one_contact = compiler.decide(lambda i: args(i)["contactId"] is not None)
    ip, i = compiler.alias("ip"), compiler.alias("i")
    if one_contact:
        contact = compiler.bind(contact_id, "uuid")
        # The resolvers refuse a contactId that names no living contact of the owner.
        c = compiler.alias("c")
        compiler.requires.append(
            f"EXISTS (SELECT 1 FROM contacts {c} WHERE {c}.owner_id = {OWNER} "
            f"AND {c}.id = {contact} AND {c}.cl % 2 = 1)"
        )
        keys = interaction_store.BY_CONTACT
        conditions = _participations(ip, contact)
        counted = (
            f"SELECT count(*) FROM interaction_participants {ip} WHERE {' AND '.join(conditions)}"
        )
        after_given = compiler.decide(lambda inputs: args(inputs)["after"] is not None)
        if after_given:
            columns = [f"{ip}.occurred_at", f"{ip}.interaction_id"]
            conditions.append(
                after_condition(
                    compiler, args, lambda x: f"interactions:{contact_id(x)}", keys, columns
                )
            )
        tag: list[str | Expr] = ["interactions:", Expr(f"({contact})::text")]
        source = _participation_source(ip, i, conditions)

    else:
        keys = interaction_store.ALL
        p, c = compiler.alias("ip"), compiler.alias("c")
        living = (
            f"EXISTS (SELECT 1 FROM interaction_participants {p} JOIN contacts {c} "
            f"ON {c}.owner_id = {p}.owner_id AND {c}.id = {p}.contact_id "
            f"WHERE {p}.owner_id = {OWNER} AND {c}.owner_id = {OWNER} "
            f"AND {p}.interaction_id = {i}.id AND {c}.cl % 2 = 1)"
        )
        conditions = [f"{i}.owner_id = {OWNER}", f"{i}.cl % 2 = 1", living]
        counted = f"SELECT count(*) FROM interactions {i} WHERE {' AND '.join(conditions)}"
        after_given = compiler.decide(lambda inputs: args(inputs)["after"] is not None)
        if after_given:
            columns = [f"{i}.occurred_at", f"{i}.id"]
            conditions.append(
                after_condition(compiler, args, lambda x: "interactions", keys, columns)
            )
        tag = ["interactions"]
        where_all = " AND ".join(conditions)

        def source(columns: set[str], limit: str) -> str:
            selected = ", ".join(f"{i}.{n}" for n in sorted(columns | {"occurred_at", "id"}))
            return (
                f"SELECT {selected} FROM interactions {i} WHERE {where_all} "
                f"ORDER BY {i}.occurred_at DESC, {i}.id DESC LIMIT {limit}"
            )

    return render_connection(
        compiler,
        definition,
        nodes,
        first=first,
        source=source,
        order=_newest_first,
        cursor=_cursor_of(tag),
        node=compiler.render_interaction,
        count=counted,
        after_given=after_given,
    )


def render_contact_interactions(
    compiler: Compiler, nodes: list[FieldNode], contact: Row, known_id: Getter | None = None
) -> str:
    definition = compiler.find_type("Contact").fields["interactions"]
    args = compiler.read_arguments(definition, nodes[0])
    first = compiler.page_size(lambda i: check_first(args(i)["first"], i.max_page_size))
    contact_id = contact.col("id")
    ip, i = compiler.alias("ip"), compiler.alias("i")
    conditions = _participations(ip, contact_id)
    after_given = compiler.decide(lambda i: args(i)["after"] is not None)
    if after_given:
        if known_id is None:
            # Under a list, each contact's cursor names that contact; the resolvers give
            # the others their BadCursor errors.
            raise NotCompilable
        # A cursor naming another contact falls back: the resolvers answer it.
        conditions.append(
            after_condition(
                compiler,
                args,
                lambda i: f"interactions:{known_id(i)}",
                interaction_store.BY_CONTACT,
                [f"{ip}.occurred_at", f"{ip}.interaction_id"],
            )
        )
    counted = compiler.alias("ip")
    return render_connection(
        compiler,
        definition,
        nodes,
        first=first,
        source=_participation_source(ip, i, conditions),
        order=_newest_first,
        cursor=_cursor_of(["interactions:", Expr(f"({contact_id})::text")]),
        node=compiler.render_interaction,
        count=(
            f"SELECT count(*) FROM interaction_participants {counted} "
            f"WHERE {' AND '.join(_participations(counted, contact_id))}"
        ),
        after_given=after_given,
    )


def _participations(ip: str, contact: str) -> list[str]:
    """One contact's living participations: its interactions, as the index reads them."""
    return [f"{ip}.owner_id = {OWNER}", f"{ip}.contact_id = {contact}", f"{ip}.alive"]


def _participation_source(ip: str, i: str, conditions: list[str]) -> Source:
    """One contact's interactions newest first, read through interaction_participants."""

    def source(columns: set[str], limit: str) -> str:
        selected = ", ".join(f"{i}.{n}" for n in sorted(columns | {"occurred_at", "id"}))
        return (
            f"SELECT {selected} FROM interaction_participants {ip} JOIN interactions {i} "
            f"ON {i}.owner_id = {ip}.owner_id AND {i}.id = {ip}.interaction_id "
            f"WHERE {i}.owner_id = {OWNER} AND {' AND '.join(conditions)} "
            f"ORDER BY {ip}.occurred_at DESC, {ip}.interaction_id DESC LIMIT {limit}"
        )

    return source


def _cursor_of(tag: list[str | Expr]) -> Callable[[Row], str]:
    """keyset.encode_cursor of an interaction listing: its tag, time and id."""

    def cursor(row: Row) -> str:
        occurred = render.datetime_bare(row.col("occurred_at"))
        return render.base64url(
            ['["', *tag, '","', Expr(occurred), '","', Expr(f"({row.col('id')})::text"), '"]']
        )

    return cursor


def _newest_first(source: str) -> str:
    return f"{source}.occurred_at DESC, {source}.id DESC"
