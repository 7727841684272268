"""A Contact's fields, its labeled values and its birthday."""

from __future__ import annotations

from graphql import FieldNode

from reads import render
from reads.columns import CONTACT_COLUMNS, Row
from reads.compiler import OWNER, Compiler
from reads.interaction_list import render_contact_interactions
from reads.plan import Getter, NotCompilable
from reads.render import or_null
from reads.tag import render_tag_list


def render_contact(
    compiler: Compiler, nodes: list[FieldNode], row: Row, contact_id: Getter | None = None
) -> str:
    """A contact's fields; ``contact_id`` reads its id when the request names it."""
    contact_type = compiler.find_type("Contact")

    def special(name: str, field_nodes: list[FieldNode]) -> str:
        if name == "displayName":
            full = f"{row.col('first_name')} || ' ' || {row.col('last_name')}"
            return render.string(f"btrim({full}, {compiler.whitespace()})")
        if name in ("emails", "phones", "urls"):
            return render_labeled(compiler, field_nodes, row.col(_to_snake_case(name)))
        if name == "birthday":
            return render_birthday(compiler, field_nodes, row)
        if name == "interests":
            return render.jsonb_strings(row.col("interests"))
        if name == "leadDays":
            return or_null(render.jsonb_ints(row.col("lead_days")))
        if name == "tags":
            ct, t = compiler.alias("ct"), compiler.alias("t")
            return render_tag_list(
                compiler,
                field_nodes,
                Row(t),
                f"FROM contact_tags {ct} JOIN tags {t} "
                f"ON {t}.owner_id = {ct}.owner_id AND {t}.id = {ct}.tag_id "
                f"WHERE {ct}.owner_id = {OWNER} AND {t}.owner_id = {OWNER} "
                f"AND {ct}.contact_id = {row.col('id')} AND {ct}.cl % 2 = 1 AND {t}.cl % 2 = 1",
                f"{t}.name_key",
            )
        if name == "interactions":
            return render_contact_interactions(compiler, field_nodes, row, contact_id)
        if name == "introducedBy":
            other = compiler.alias("c")
            body = compiler.render_contact(field_nodes, Row(other))
            return or_null(
                f"(SELECT {body} FROM contacts {other} WHERE {other}.owner_id = {OWNER} "
                f"AND {other}.id = {row.col('introduced_by_id')} AND {other}.cl % 2 = 1)"
            )
        raise NotCompilable

    return compiler.render_columns(contact_type, nodes, row, CONTACT_COLUMNS, special)


def render_labeled(compiler: Compiler, nodes: list[FieldNode], column: str) -> str:
    e = compiler.alias("e")
    labeled_type = compiler.find_type("LabeledValue")

    def render_field(name: str, field_nodes: list[FieldNode]) -> str:
        if name == "label":
            return render.string(f"coalesce({e}.v ->> 'label', '')")
        if name == "value":
            return or_null(render.string(f"{e}.v ->> 'value'"))
        raise NotCompilable

    body = compiler.render_object(labeled_type, compiler.collect(labeled_type, nodes), render_field)
    array = f"CASE WHEN jsonb_typeof({column}) = 'array' THEN {column} ELSE '[]'::jsonb END"
    return (
        f"(SELECT '[' || coalesce(string_agg({body}, ',' ORDER BY {e}.o), '') || ']' "
        f"FROM jsonb_array_elements({array}) WITH ORDINALITY AS {e}(v, o))"
    )


def render_birthday(compiler: Compiler, nodes: list[FieldNode], row: Row) -> str:
    birthday_type = compiler.find_type("Birthday")
    month = row.col("birthday_month")

    def render_field(name: str, field_nodes: list[FieldNode]) -> str:
        if name == "month":
            return render.number(month)
        if name == "day":
            return or_null(render.number(row.col("birthday_day")))
        if name == "year":
            return or_null(render.number(row.col("birthday_year")))
        raise NotCompilable

    body = compiler.render_object(
        birthday_type, compiler.collect(birthday_type, nodes), render_field
    )
    return f"CASE WHEN {month} IS NULL THEN 'null' ELSE {body} END"


def _to_snake_case(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name)
