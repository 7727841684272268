"""Relay-style connections with opaque cursors and a lazily counted ``totalCount``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from schema.errors import bad_input
from store import keyset

T = TypeVar("T")

DEFAULT_PAGE = 20


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    row: strawberry.Private[Any]
    tag: strawberry.Private[str]
    keys: strawberry.Private[Sequence[keyset.SortKey]]

    @strawberry.field(description="Pass as `after` to continue after this node.")
    def cursor(self) -> str:
        # Made only when asked for: pages that read `nodes` never pay for cursors.
        return keyset.encode_cursor(self.tag, self.keys, self.row)


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The nodes of this page, without cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many items match, over all pages. Costs a count query.")
    async def total_count(self) -> int:
        return await self.count()


def check_first(first: int, maximum: int) -> int:
    """Return the page size, or fail the field if it is out of range."""
    if first < 0 or first > maximum:
        raise bad_input("first", f"ask for between 0 and {maximum} items per page, not {first}")
    return first


def read_after(tag: str, keys: Sequence[keyset.SortKey], after: str | None) -> list[Any] | None:
    """Decode an ``after`` cursor, or fail the field if it came from elsewhere."""
    if after is None:
        return None
    try:
        return keyset.decode_cursor(tag, keys, after)
    except keyset.BadCursor:
        raise bad_input(
            "after", "this cursor does not belong to this list and order; page again from the start"
        ) from None


def build_connection(
    rows: Sequence[Any],
    first: int,
    tag: str,
    keys: Sequence[keyset.SortKey],
    to_node: Callable[[Any], T],
    count: Callable[[], Awaitable[int]],
) -> Connection[T]:
    """Make a page from ``first + 1`` fetched rows (the extra one says there is more)."""
    page = rows[:first]
    edges = [Edge(node=to_node(row), row=row, tag=tag, keys=keys) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first,
            end_cursor=keyset.encode_cursor(tag, keys, page[-1]) if page else None,
        ),
        count=count,
    )
