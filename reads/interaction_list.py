"""``interactions(contactId, first, after)`` and a contact's own ``interactions``."""

from __future__ import annotations

from typing import Any

from graphql import FieldNode

from reads import render
from reads.arguments import check_first
from reads.columns import Row
from reads.compiler import OWNER, Compiler
from reads.connection import render_connection
from reads.cursor import after_condition
from reads.plan import Fallback, Getter, Inputs, NotCompilable
from reads.render import Expr
from store import interactions as interaction_store
from sync.errors import ValidationFailed
from sync.fields import parse_uuid


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
    tag_sql: str | Expr
    if one_contact:
        contact = compiler.bind(contact_id, "uuid")
        # The resolvers refuse a contactId that names no living contact of the owner.
        c = compiler.alias("c")
        compiler.requires.append(
            f"EXISTS (SELECT 1 FROM contacts {c} WHERE {c}.owner_id = {OWNER} "
            f"AND {c}.id = {contact} AND {c}.cl % 2 = 1)"
        )
        keys = interaction_store.BY_CONTACT
        conditions = [
            f"{ip}.owner_id = {OWNER}",
            f"{ip}.contact_id = {contact}",
            f"{ip}.alive",
        ]
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
        tag_sql = Expr(f"'interactions:' || ({contact})::text")
        where = " AND ".join(conditions)

        def source(columns: set[str], limit: str) -> str:
            selected = ", ".join(f"{i}.{n}" for n in sorted(columns | {"occurred_at", "id"}))
            return (
                f"SELECT {selected} FROM interaction_participants {ip} JOIN interactions {i} "
                f"ON {i}.owner_id = {ip}.owner_id AND {i}.id = {ip}.interaction_id "
                f"WHERE {i}.owner_id = {OWNER} AND {where} "
                f"ORDER BY {ip}.occurred_at DESC, {ip}.interaction_id DESC LIMIT {limit}"
            )

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
        tag_sql = "interactions"
        where_all = " AND ".join(conditions)

        def source(columns: set[str], limit: str) -> str:
            selected = ", ".join(f"{i}.{n}" for n in sorted(columns | {"occurred_at", "id"}))
            return (
                f"SELECT {selected} FROM interactions {i} WHERE {where_all} "
                f"ORDER BY {i}.occurred_at DESC, {i}.id DESC LIMIT {limit}"
            )

    def cursor(row: Row) -> str:
        occurred = render.datetime_bare(row.col("occurred_at"))
        return render.base64url(
            [
                '["',
                tag_sql,
                '","',
                Expr(occurred),
                '","',
                Expr(f"({row.col('id')})::text"),
                '"]',
            ]
        )

    return render_connection(
        compiler,
        definition,
        nodes,
        first=first,
        source=source,
        order=lambda s: f"{s}.occurred_at DESC, {s}.id DESC",
        cursor=cursor,
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
    past_cursor = ""
    after_given = compiler.decide(lambda i: args(i)["after"] is not None)
    if after_given:
        if known_id is None:
            # Under a list, each contact's cursor names that contact; the resolvers give
            # the others their BadCursor errors.
            raise NotCompilable
        # A cursor naming another contact falls back: the resolvers answer it.
        condition = after_condition(
            compiler,
            args,
            lambda i: f"interactions:{known_id(i)}",
            interaction_store.BY_CONTACT,
            [f"{ip}.occurred_at", f"{ip}.interaction_id"],
        )
        past_cursor = f"AND {condition} "

    def source(columns: set[str], limit: str) -> str:
        wanted = columns | {"occurred_at", "id"}
        selected = ", ".join(f"{i}.{name}" for name in sorted(wanted))
        return (
            f"SELECT {selected} FROM interaction_participants {ip} JOIN interactions {i} "
            f"ON {i}.owner_id = {ip}.owner_id AND {i}.id = {ip}.interaction_id "
            f"WHERE {ip}.owner_id = {OWNER} AND {i}.owner_id = {OWNER} "
            f"AND {ip}.contact_id = {contact_id} AND {ip}.alive {past_cursor}"
            f"ORDER BY {ip}.occurred_at DESC, {ip}.interaction_id DESC LIMIT {limit}"
        )

    def cursor(row: Row) -> str:
        occurred = render.datetime_bare(row.col("occurred_at"))
        return render.base64url(
            [
                '["interactions:',
                Expr(f"({contact_id})::text"),
                '","',
                Expr(occurred),
                '","',
                Expr(f"({row.col('id')})::text"),
                '"]',
            ]
        )

    counted = compiler.alias("ip")
    return render_connection(
        compiler,
        definition,
        nodes,
        first=first,
        source=source,
        order=lambda s: f"{s}.occurred_at DESC, {s}.id DESC",
        cursor=cursor,
        node=compiler.render_interaction,
        count=(
            f"SELECT count(*) FROM interaction_participants {counted} "
            f"WHERE {counted}.owner_id = {OWNER} AND {counted}.contact_id = {contact_id} "
            f"AND {counted}.alive"
        ),
        after_given=after_given,
    )
