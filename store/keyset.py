"""Keyset pagination: orderings that end with ``id``, and opaque cursors that resume them."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa

Kind = Literal["text", "time", "date", "uuid"]


class BadCursor(ValueError):
    """The cursor was not made by this listing; start again without ``after``."""


@dataclass(frozen=True)
class SortKey:
    column: sa.ColumnElement[Any]
    name: str
    kind: Kind
    descending: bool = False
    nullable: bool = False
    # Listings put NULLs last; only a reversed ordering (for paging backward) puts them first.
    nulls_first: bool = False


def reverse_keys(keys: Sequence[SortKey]) -> tuple[SortKey, ...]:
    """Return the exact reverse of an ordering: every direction and every NULLs placement."""
    return tuple(
        replace(k, descending=not k.descending, nulls_first=not k.nulls_first) for k in keys
    )


def order_clauses(
    keys: Sequence[SortKey], source: sa.Subquery | None = None
) -> list[sa.ColumnElement[Any]]:
    """Return ORDER BY clauses; NULLs come last unless the ordering was reversed.

    ``source``: order a subquery's columns of the same names instead of the table's.
    """
    clauses: list[sa.ColumnElement[Any]] = []
    for k in keys:
        column = k.column if source is None else source.c[k.name]
        clause = column.desc() if k.descending else column.asc()
        if k.nullable:
            clause = clause.nulls_first() if k.nulls_first else clause.nulls_last()
        clauses.append(clause)
    return clauses


def after_condition(keys: Sequence[SortKey], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Return the condition for rows strictly after ``values`` in the order of ``keys``."""
    return sa.or_(*after_branches(keys, values))


def after_branches(keys: Sequence[SortKey], values: Sequence[Any]) -> list[sa.ColumnElement[bool]]:
    """Return disjoint conditions whose union is the rows strictly after ``values``.

    Each is a range of the ordering's index: a row comparison, ``(a, id) > ($1, $2)``, which
    PostgreSQL turns into an index bound, so a deep page starts at its cursor instead of
    filtering every row before it (``a > $1 OR (a = $1 AND id > $2)`` is only a filter). A
    nullable first key adds the NULL rows as a second range when they follow the cursor; a
    listing reads each range in order (``LIMIT``) and merges them. Orderings this shape does
    not fit (mixed directions, a nullable key after the first) get the expanded condition.
    """
    if not _fits_row_comparison(keys):
        return [_expanded_after(keys, values)]
    first, value = keys[0], values[0]
    if value is None:
        # Only NULL rows can follow a NULL cursor value when NULLs come last; when they
        # come first, every non-NULL row follows them too.
        nulls = sa.and_(first.column.is_(None), _row_after(keys[1:], values[1:]))
        return [nulls, first.column.is_not(None)] if first.nulls_first else [nulls]
    beyond = _row_after(keys, values)  # a row comparison is never true for a NULL key
    if first.nullable and not first.nulls_first:
        return [beyond, first.column.is_(None)]
    return [beyond]


def _fits_row_comparison(keys: Sequence[SortKey]) -> bool:
    return all(k.descending == keys[0].descending for k in keys) and not any(
        k.nullable for k in keys[1:]
    )


def _row_after(keys: Sequence[SortKey], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    if len(keys) == 1:
        key = keys[0]
        single: sa.ColumnElement[bool] = (
            key.column < values[0] if key.descending else key.column > values[0]
        )
        return single
    row = sa.tuple_(*(k.column for k in keys))
    given = sa.tuple_(*(sa.literal(v, k.column.type) for k, v in zip(keys, values, strict=True)))
    return row < given if keys[0].descending else row > given


def _expanded_after(keys: Sequence[SortKey], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    key, value = keys[0], values[0]
    if len(keys) == 1:
        last: sa.ColumnElement[bool] = key.column < value if key.descending else key.column > value
        return last
    rest = _expanded_after(keys[1:], values[1:])
    if value is None:
        if key.nulls_first:
            # NULLs sort first: every non-NULL row follows, and NULL rows past the rest.
            return sa.or_(key.column.is_not(None), sa.and_(key.column.is_(None), rest))
        # NULLs sort last: only rows that are also NULL here can follow.
        return sa.and_(key.column.is_(None), rest)
    beyond = key.column < value if key.descending else key.column > value
    options = [beyond, sa.and_(key.column == value, rest)]
    if key.nullable and not key.nulls_first:
        options.append(key.column.is_(None))
    return sa.or_(*options)


def _dump(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("time", "date"):
        return value.isoformat()
    return str(value)


def _load(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind == "time":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "uuid":
        return UUID(value)
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def encode_cursor(tag: str, keys: Sequence[SortKey], row: Mapping[str, Any]) -> str:
    """Return an opaque cursor for ``row`` in a listing named ``tag``."""
    payload = [tag, *(_dump(k.kind, row[k.name]) for k in keys)]
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_cursor(tag: str, keys: Sequence[SortKey], cursor: str) -> list[Any]:
    """Return the sort values a cursor holds, or raise BadCursor."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(payload, list) or payload[0] != tag or len(payload) != len(keys) + 1:
            raise BadCursor(cursor)
        values = [_load(k.kind, v) for k, v in zip(keys, payload[1:], strict=True)]
        # Only a nullable key may hold NULL in a row; a cursor that says otherwise is forged.
        if any(v is None and not k.nullable for k, v in zip(keys, values, strict=True)):
            raise BadCursor(cursor)
        return values
    except (ValueError, TypeError, IndexError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor(cursor) from exc
