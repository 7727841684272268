"""``contacts(first, after, last, before, orderBy, filter)``: a page in either direction."""

from __future__ import annotations

from typing import Any

from graphql import FieldNode

from reads import render
from reads.arguments import check_page, compute_birthday_keys, escape_like, parse_tag_ids, read_enum
from reads.columns import Row
from reads.compiler import OWNER, Compiler
from reads.connection import render_connection
from reads.cursor import after_branches
from reads.ordering import render_cursor_value, render_order
from reads.plan import Fallback, Getter, Inputs
from reads.render import Expr
from store import contacts as contact_store
from store import keyset


def render_contacts(compiler: Compiler, nodes: list[FieldNode]) -> str:
    query = compiler.schema.query_type
    assert query is not None
    definition = query.fields["contacts"]
    args = compiler.read_arguments(definition, nodes[0])
    size = compiler.page_size(lambda i: check_page(args(i), i.max_page_size))
    # Backward (``last``): read in the reversed order, then render the rows in the normal one.
    backward = compiler.decide(lambda i: args(i)["last"] is not None)
    order = contact_store.ContactOrder(compiler.decide(lambda i: read_enum(args(i)["orderBy"])))
    keys = contact_store.ORDERINGS[order]
    reversed_keys = keyset.reverse_keys(keys)
    read_keys = reversed_keys if backward else keys
    tag = f"contacts:{order.value}"
    c = compiler.alias("c")
    conditions = [
        f"{c}.owner_id = {OWNER}",
        f"{c}.cl % 2 = 1",
        *filter_conditions(compiler, args, c),
    ]
    counted = " AND ".join(conditions)
    columns = [f"{c}.{k.name}" for k in keys]
    # Each range is one index range of the ordering (keyset.after_branches).
    after_ranges: list[str | None] = [None]
    after_given = compiler.decide(lambda i: args(i)["after"] is not None)
    if after_given:
        after_ranges = [*after_branches(compiler, args, lambda i: tag, keys, columns)]
    before_ranges: list[str | None] = [None]
    before_given = compiler.decide(lambda i: args(i)["before"] is not None)
    if before_given:
        # "Before x" in this order is "after x" in the reversed one (store/contacts.py).
        before_ranges = [
            *after_branches(compiler, args, lambda i: tag, keys, columns, "before", reversed_keys)
        ]
    ranges = [
        " AND ".join([*conditions, *(r for r in (a, b) if r is not None)])
        for a in after_ranges
        for b in before_ranges
    ]
    order_by = ", ".join(render_order(c, k) for k in read_keys)

    def source(columns: set[str], limit: str) -> str:
        wanted = columns | {k.name for k in keys} | {"id"}
        selected = ", ".join(f"{c}.{name}" for name in sorted(wanted))
        # Each range is read under the page's LIMIT, a number in the SQL (Compiler.page_size),
        # so the ordering's index is walked and stops after the page.
        reads = [
            f"SELECT {selected} FROM contacts {c} WHERE {where} ORDER BY {order_by} LIMIT {limit}"
            for where in ranges
        ]
        if len(reads) == 1:
            return reads[0]
        # Disjoint ranges, each read in order; the page is the first rows of their merge,
        # as store/contacts.py's list_contacts reads it.
        merged = compiler.alias("m")
        return (
            f"SELECT * FROM ({' UNION ALL '.join(f'({r})' for r in reads)}) {merged} "
            f"ORDER BY {', '.join(render_order(merged, k) for k in read_keys)} "
            f"LIMIT {limit}"
        )

    def cursor(row: Row) -> str:
        parts: list[str | Expr] = [f'["{tag}"']
        for key in keys:
            parts.append(",")
            parts.append(Expr(render_cursor_value(key.kind, row, key.name)))
        parts.append("]")
        return render.base64url(parts)

    return render_connection(
        compiler,
        definition,
        nodes,
        first=size,
        source=source,
        order=lambda s: ", ".join(render_order(s, k) for k in read_keys),
        cursor=cursor,
        node=compiler.render_contact,
        count=f"SELECT count(*) FROM contacts {c} WHERE {counted}",
        after_given=after_given,
        before_given=before_given,
        backward=backward,
    )


def filter_conditions(compiler: Compiler, args: Getter, c: str) -> list[str]:
    if not compiler.decide(lambda i: args(i)["filter"] is not None):
        return []

    def where(i: Inputs) -> dict[str, Any]:
        found: dict[str, Any] = args(i)["filter"]
        return found

    def check(i: Inputs) -> None:
        # _contact_filter's own rules; the resolvers answer with its errors.
        days = where(i)["birthdayWithinDays"]
        search = where(i)["search"]
        if days is not None and not 0 <= days <= 366:
            raise Fallback
        if search is not None and len(search) > 200:
            raise Fallback
        parse_tag_ids(where(i))

    compiler.checks.append(check)
    conditions: list[str] = []
    if compiler.decide(lambda i: bool(where(i)["search"])):
        search = compiler.bind(lambda i: escape_like(where(i)["search"].casefold()), "text")
        conditions.append(f"{c}.search_text LIKE '%' || {search} || '%' ESCAPE '/'")
    if compiler.decide(lambda i: bool(where(i)["company"])):
        company = compiler.bind(lambda i: where(i)["company"].casefold(), "text")
        conditions.append(f"lower({c}.company) = {company}")
    if compiler.decide(lambda i: bool(where(i)["stages"])):
        stages = compiler.bind(lambda i: [read_enum(s) for s in where(i)["stages"]], "text[]")
        conditions.append(f"{c}.stage = ANY({stages})")
    if compiler.decide(lambda i: where(i)["followUpDueBefore"] is not None):
        before = compiler.bind(lambda i: where(i)["followUpDueBefore"], "timestamptz")
        conditions.append(f"{c}.next_follow_up_at < {before}")
    if compiler.decide(lambda i: where(i)["birthdayWithinDays"] is not None):
        compiler.needs_time_zone = True
        days = compiler.bind(
            lambda i: compute_birthday_keys(i, where(i)["birthdayWithinDays"]), "int[]"
        )
        conditions.append(f"({c}.birthday_month * 100 + {c}.birthday_day) = ANY({days})")
    if compiler.decide(lambda i: bool(where(i)["tagIds"])):
        tag_ids = compiler.bind(lambda i: parse_tag_ids(where(i)), "uuid[]")
        ct, t = compiler.alias("ct"), compiler.alias("t")
        conditions.append(
            f"EXISTS (SELECT 1 FROM contact_tags {ct} JOIN tags {t} "
            f"ON {t}.owner_id = {ct}.owner_id AND {t}.id = {ct}.tag_id "
            f"WHERE {ct}.owner_id = {OWNER} AND {t}.owner_id = {OWNER} "
            f"AND {ct}.contact_id = {c}.id AND {ct}.tag_id = ANY({tag_ids}) "
            f"AND {ct}.cl % 2 = 1 AND {t}.cl % 2 = 1)"
        )
    return conditions
