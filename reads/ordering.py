"""A keyset ordering as SQL: ORDER BY clauses, cursor values, and the rows past a cursor.

The SQL twins of ``store.keyset``: the compiled statement orders, encodes and resumes a
listing exactly as the resolvers' queries do.
"""

from __future__ import annotations

from reads import render
from reads.columns import Row
from store import keyset

# How a cursor's sort value is cast when bound (keyset.Kind -> PostgreSQL type).
CAST = {"text": "text", "time": "timestamptz", "date": "date", "uuid": "uuid"}


def render_order(alias: str, key: keyset.SortKey) -> str:
    clause = f"{alias}.{key.name} {'DESC' if key.descending else 'ASC'}"
    if not key.nullable:
        return clause
    return clause + (" NULLS FIRST" if key.nulls_first else " NULLS LAST")


def render_cursor_value(kind: str, row: Row, name: str) -> str:
    """One sort value as keyset.encode_cursor writes it into the cursor's JSON.

    Times and uuids go through ``row.once``: the node renders the same text.
    """
    if kind == "text":
        return render.python_json_string(row.col(name))
    if kind == "time":
        return f"coalesce('\"' || {row.once(name, render.datetime_bare)} || '\"', 'null')"
    if kind == "date":
        return f"coalesce('\"' || to_char({row.col(name)}, 'YYYY-MM-DD') || '\"', 'null')"
    if kind == "uuid":
        return f"coalesce('\"' || {row.once(name, render.uuid_bare)} || '\"', 'null')"
    return f"coalesce('\"' || ({row.col(name)})::text || '\"', 'null')"


def render_after_branches(
    columns: list[str], keys: list[keyset.SortKey], params: list[str], nulls: list[bool]
) -> list[str]:
    """keyset.after_branches, as SQL over bound parameters."""
    if not all(k.descending == keys[0].descending for k in keys) or any(
        k.nullable for k in keys[1:]
    ):
        return [render_after(columns, keys, params, nulls)]
    first, column = keys[0], columns[0]
    if nulls[0]:
        rest = render_row_after(columns[1:], keys[1:], params[1:])
        ranges = [f"({column} IS NULL AND {rest})"]
        return [*ranges, f"{column} IS NOT NULL"] if first.nulls_first else ranges
    beyond = render_row_after(columns, keys, params)
    if first.nullable and not first.nulls_first:
        return [beyond, f"{column} IS NULL"]
    return [beyond]


def render_row_after(columns: list[str], keys: list[keyset.SortKey], params: list[str]) -> str:
    """A row comparison, which PostgreSQL bounds an index scan with."""
    operator = "<" if keys[0].descending else ">"
    if len(keys) == 1:
        return f"{columns[0]} {operator} {params[0]}"
    return f"({', '.join(columns)}) {operator} ({', '.join(params)})"


def render_after(
    columns: list[str], keys: list[keyset.SortKey], params: list[str], nulls: list[bool]
) -> str:
    """keyset.after_condition, as SQL over bound parameters."""
    column, key, param, is_null = columns[0], keys[0], params[0], nulls[0]
    beyond = f"{column} < {param}" if key.descending else f"{column} > {param}"
    if len(keys) == 1:
        return beyond
    rest = render_after(columns[1:], keys[1:], params[1:], nulls[1:])
    if is_null:
        if key.nulls_first:
            return f"({column} IS NOT NULL OR ({column} IS NULL AND {rest}))"
        return f"({column} IS NULL AND {rest})"
    options = [beyond, f"({column} = {param} AND {rest})"]
    if key.nullable and not key.nulls_first:
        options.append(f"{column} IS NULL")
    return "(" + " OR ".join(options) + ")"
