"""Tag lists: ``tags`` and a contact's tags."""

from __future__ import annotations

from graphql import FieldNode

from reads.columns import TAG_COLUMNS, Row
from reads.compiler import OWNER, Compiler


def render_tag_list(
    compiler: Compiler, nodes: list[FieldNode], row: Row, from_where: str, order: str
) -> str:
    body = compiler.render_columns(compiler.find_type("Tag"), nodes, row, TAG_COLUMNS)
    return (
        f"(SELECT '[' || coalesce(string_agg({body}, ',' ORDER BY {order}), '') || ']' "
        f"{from_where})"
    )


def render_tags(compiler: Compiler, nodes: list[FieldNode]) -> str:
    t = compiler.alias("t")
    return render_tag_list(
        compiler,
        nodes,
        Row(t),
        f"FROM tags {t} WHERE {t}.owner_id = {OWNER} AND {t}.cl % 2 = 1",
        f"{t}.name_key, {t}.id",
    )
