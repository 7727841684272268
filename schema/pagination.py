"""Relay-style connections with opaque cursors and a lazily counted ``totalCount``.

The page-size rule and default are ``model.pages``' (the compiled path applies them too).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from model.pages import DEFAULT_PAGE, check_page_size
from schema.errors import bad_input
from store import keyset

T = TypeVar("T")
P = ParamSpec("P")


@strawberry.type
class PageInfo:
    has_next_page: bool = strawberry.field(
        description=(
            "Whether items follow this page. Paging backward (`last`), true exactly when "
            "`before` was given."
        )
    )
    end_cursor: str | None = strawberry.field(
        description="The last item's cursor: pass it as `after` for the next page."
    )
    has_previous_page: bool = strawberry.field(
        description=(
            "Whether items come before this page. Paging backward (`last`), whether more "
            "precede it; paging forward, true exactly when `after` was given."
        )
    )
    start_cursor: str | None = strawberry.field(
        description=(
            "The first item's cursor: pass it as `before` (where a list takes it) for the "
            "previous page."
        )
    )


@strawberry.type
class Edge(Generic[T]):
    node: T
    row: strawberry.Private[Any]
    tag: strawberry.Private[str]
    keys: strawberry.Private[Sequence[keyset.SortKey]]

    @strawberry.field(
        description=(
            "Pass as `after` to continue after this node (or as `before`, where a list takes "
            "it, to go back)."
        )
    )
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


def counting(
    engine: AsyncEngine,
    count: Callable[Concatenate[AsyncConnection, P], Awaitable[int]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> Callable[[], Awaitable[int]]:
    """A connection's ``totalCount``: ``count(conn, ...)`` on a short connection of its own
    (sibling fields run concurrently), run only when the field is selected."""

    async def run() -> int:
        async with engine.connect() as conn:
            return await count(conn, *args, **kwargs)

    return run


def check_first(first: int, maximum: int) -> int:
    """Return the page size, or fail the field if it is out of range."""
    if (problem := check_page_size(first, maximum)) is not None:
        raise bad_input("first", problem)
    return first


def read_after(
    tag: str, keys: Sequence[keyset.SortKey], after: str | None, argument: str = "after"
) -> list[Any] | None:
    """Decode an ``after`` (or ``before``) cursor, or fail the field if it came from elsewhere."""
    if after is None:
        return None
    try:
        return keyset.decode_cursor(tag, keys, after)
    except keyset.BadCursor:
        raise bad_input(
            argument,
            "this cursor does not belong to this list and order; page again from the start",
        ) from None


@dataclass(frozen=True)
class PageSize:
    """How many items a page holds, and from which end of the range they are taken."""

    size: int
    backward: bool


def check_page(first: int | None, last: int | None, maximum: int) -> PageSize:
    """Return the page size and direction from ``first`` or ``last``; refuse both at once."""
    if first is not None and last is not None:
        raise bad_input(
            "last",
            "ask for `first` (paging forward) or `last` (paging backward), not both at once",
        )
    if last is None:
        return PageSize(check_first(DEFAULT_PAGE if first is None else first, maximum), False)
    if (problem := check_page_size(last, maximum)) is not None:
        raise bad_input("last", problem)
    return PageSize(last, True)


def build_connection(
    rows: Sequence[Any],
    first: int,
    tag: str,
    keys: Sequence[keyset.SortKey],
    to_node: Callable[[Any], T],
    count: Callable[[], Awaitable[int]],
    *,
    after: bool = False,
    before: bool = False,
    backward: bool = False,
) -> Connection[T]:
    """Make a page from ``first + 1`` fetched rows (the extra one says there is more).

    Forward, the extra row is the last one; ``backward`` (``last`` items), it is the first.
    Whether anything lies on the other side of the cursor the page started from is not read
    (the Relay spec allows that): it is answered true when that cursor was given.
    """
    more = len(rows) > first
    page = rows[max(0, len(rows) - first) :] if backward else rows[:first]
    edges = [Edge(node=to_node(row), row=row, tag=tag, keys=keys) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=before if backward else more,
            end_cursor=keyset.encode_cursor(tag, keys, page[-1]) if page else None,
            has_previous_page=more if backward else after,
            start_cursor=keyset.encode_cursor(tag, keys, page[0]) if page else None,
        ),
        count=count,
    )
