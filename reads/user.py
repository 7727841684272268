"""``me``: the signed-in user, with its lead days."""

from __future__ import annotations

from graphql import FieldNode

from reads import render
from reads.columns import LEAD_DAYS, USER_COLUMNS, Row
from reads.compiler import OWNER, Compiler
from reads.plan import NotCompilable
from reads.render import or_null


def render_me(compiler: Compiler, nodes: list[FieldNode]) -> str:
    user = compiler.alias("u")
    row = Row(user)
    lead_type = compiler.find_type("LeadDays")

    def special(name: str, field_nodes: list[FieldNode]) -> str:
        if name == "emailVerified":
            return render.boolean(f"{row.col('email_verified_at')} IS NOT NULL")
        if name != "leadDays":
            raise NotCompilable

        def lead(key: str, lead_nodes: list[FieldNode]) -> str:
            stored, default = LEAD_DAYS[key]
            value = f"coalesce({row.col('lead_days')} -> '{stored}', '{default}'::jsonb)"
            return or_null(render.jsonb_ints(value))

        return compiler.render_object(lead_type, compiler.collect(lead_type, field_nodes), lead)

    body = compiler.render_columns(compiler.find_type("User"), nodes, row, USER_COLUMNS, special)
    return or_null(f"(SELECT {body} FROM users {user} WHERE {user}.id = {OWNER})")
