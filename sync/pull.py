"""Pull: the changes a device has not seen, a page at a time, from one consistent snapshot.

Rows are delivered in (server_version, entity rank, key) order. Each page is read in one
REPEATABLE READ transaction whose upper bound is the owner's committed version in that
snapshot; since the version row serializes one owner's writers, every version up to that
bound is complete, so advancing the cursor to it can never skip a change committed late.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store.engine import outside_transaction
from store.replica import READS as REPLICA_READS
from store.replica import replica_of
from sync.client import ClientNotYours
from sync.cursor import BOUNDARY, Position, decode_cursor, encode_cursor
from sync.entity import (
    CONTACT,
    DELETED_CLOCK,
    EVENT,
    EVENT_ATTENDEE,
    GOAL,
    INTERACTION,
    REMINDER,
    TAG,
    Entity,
)
from sync.metrics import PULL_CHANGES

MAX_PAGE = 5_000


@dataclass(frozen=True)
class Feed:
    """One synced table as pulls see it."""

    rank: int
    name: str
    table: str
    keys: tuple[str, ...]
    entity: Entity | None = None
    derived: tuple[str, ...] = ()


FEEDS: tuple[Feed, ...] = (
    Feed(
        1,
        "contact",
        "contacts",
        ("id",),
        CONTACT,
        # mergedInto: on a merge's tombstone, the contact it was merged into (sync/merge.py);
        # targetMetAt: when a target was first met (sync/derived.py).
        ("last_interaction_at", "next_follow_up_at", "merged_into", "target_met_at"),
    ),
    Feed(2, "tag", "tags", ("id",), TAG),
    Feed(3, "tagAlias", "tag_aliases", ("id",)),
    Feed(4, "contactTag", "contact_tags", ("tag_id", "contact_id")),
    Feed(5, "interaction", "interactions", ("id",), INTERACTION, ("sentiment",)),
    Feed(6, "reminder", "reminders", ("id",), REMINDER),
    Feed(7, "goal", "goals", ("id",), GOAL),
    Feed(8, "event", "events", ("id",), EVENT),
    Feed(9, "eventAttendee", "event_attendees", ("event_id", "contact_id"), EVENT_ATTENDEE),
)


@dataclass(frozen=True)
class PullPage:
    # Each change is one JSON object, built by PostgreSQL and passed through as text:
    # {entity, id, deleted, cl, serverVersion, fields, clocks, derived}.
    changes: list[str]
    cursor: str | None
    has_more: bool
    reset: bool
    last_mutation_id: int | None
    server_hlc: str


@dataclass(frozen=True)
class RenderedPage:
    """A page as the compiled read path answers it: ``changes`` is one JSON array, UTF-8.

    PostgreSQL joins the page's changes into the array, so the server neither receives a row
    per change nor builds a Python object per change; the bytes go into the response as they are.
    """

    changes: bytes  # UTF-8: what the response holds, with no decoding and encoding again
    cursor: str | None
    has_more: bool
    reset: bool
    last_mutation_id: int | None
    server_hlc: str


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _object(pairs: dict[str, str]) -> str:
    if not pairs:
        return "'{}'::json"
    return "json_build_object(" + ", ".join(f"'{k}', {v}" for k, v in pairs.items()) + ")"


def _change_sql(feed: Feed) -> str:
    """The SQL that renders one row of ``feed`` as a change."""
    if feed.entity is not None:
        fields = {name: fm.sql for name, fm in feed.entity.fields.items()}
    else:
        fields = {_camel(k): f"t.{k}" for k in feed.keys if k.endswith("_id")}
        if feed.name == "tagAlias":
            fields = {"tagId": "t.tag_id"}
    synced = feed.name != "tagAlias"
    cl = "t.cl" if synced else "1"
    return _object(
        {
            "entity": f"'{feed.name}'",
            "id": _key_text(feed),
            "deleted": f"{cl} % 2 = 0",
            "cl": cl,
            "serverVersion": "t.server_version",
            # A tombstone carries no fields.
            "fields": f"CASE WHEN {cl} % 2 = 1 THEN {_object(fields)} END",
            # The clock of a row's latest delete is the server's business, not a field's.
            "clocks": f"t.field_hlc - '{DELETED_CLOCK}'" if synced else "'{}'::json",
            "derived": _object({_camel(n): f"t.{n}" for n in feed.derived}),
        }
    )


def _key_text(feed: Feed) -> str:
    return " || ':' || ".join(f"t.{k}::text" for k in feed.keys)


def _feed_query(feed: Feed, cursor_rank: int, initial: bool) -> str:
    keys = ", ".join(f"t.{k}" for k in feed.keys)
    if feed.rank > cursor_rank:
        after = "t.server_version >= :version"
    elif feed.rank < cursor_rank:
        after = "t.server_version > :version"
    else:
        params = ", ".join(f":key{n}" for n in range(len(feed.keys)))
        after = f"(t.server_version, {keys}) > (:version, {params})"
    # A first sync needs no rows deleted before it began: the device has nothing to delete.
    alive = ""
    if initial and feed.name != "tagAlias":
        alive = " AND (t.cl % 2 = 1 OR t.server_version > :initial_until)"
    # Built from the constant FEEDS only; every value travels as a bound parameter.
    # Keys sort as bytes ("C"): the order of the ids themselves, and no locale's rules to pay.
    columns = f'{feed.rank} AS rank, t.server_version, ({_key_text(feed)}) COLLATE "C" AS key'
    where = f"t.owner_id = :owner_id AND t.server_version <= :upper AND {after}{alive}"
    return (
        f"(SELECT {columns}, {_change_sql(feed)}::text AS change "  # noqa: S608
        f"FROM {feed.table} AS t WHERE {where} "
        f"ORDER BY t.server_version, {keys} LIMIT :limit)"
    )


def _union(cursor_rank: int, initial: bool) -> str:
    """Up to ``:limit`` changes after the cursor, in feed order."""
    union = " UNION ALL ".join(_feed_query(f, cursor_rank, initial) for f in FEEDS)
    return f"{union} ORDER BY server_version, rank, key LIMIT :limit"


@functools.cache
def _page_query(cursor_rank: int, initial: bool) -> sa.TextClause:
    """The page statement for one shape of cursor, built once: pulls are hot."""
    return sa.text(_union(cursor_rank, initial))


@functools.cache
def _rendered_query(cursor_rank: int, initial: bool) -> sa.TextClause:
    """As ``_page_query``, answered as one row: the first ``:page`` changes joined into a JSON
    array (the bytes orjson writes for a list of them, sent as UTF-8 ``bytea`` so the server
    never decodes them), whether more follow, and the position of the last change delivered
    (where the next page starts)."""
    last = "FILTER (WHERE p.n = :page)"
    # Built from the constant FEEDS only, as _page_query is.
    return sa.text(
        "SELECT convert_to('[' || coalesce(string_agg(p.change, ',' ORDER BY p.n)"  # noqa: S608
        " FILTER (WHERE p.n <= :page), '') || ']', 'UTF8') AS changes,"
        " count(*) > :page AS has_more, least(count(*), :page) AS size,"
        f" max(p.server_version) {last} AS last_version, max(p.rank) {last} AS last_rank,"
        f" max(p.key) {last} AS last_key"
        " FROM (SELECT u.*, row_number() OVER (ORDER BY u.server_version, u.rank, u.key) AS n"
        f" FROM ({_union(cursor_rank, initial)}) AS u) AS p"
    )


_SORT_MEMORY = sa.text("SET LOCAL work_mem = '32MB'")

# The owner's feed state and the client's row, in one round trip.
_STATE = sa.text(
    "SELECT o.version, o.hlc, o.epoch, o.purged_through, c.last_mutation_id,"
    " c.last_mutation_version, EXISTS (SELECT FROM sync_clients AS x"
    " WHERE x.client_id = :client_id AND x.owner_id <> :owner_id) AS foreign_client"
    " FROM sync_owners AS o LEFT JOIN sync_clients AS c"
    " ON c.owner_id = o.owner_id AND c.client_id = :client_id"
    " WHERE o.owner_id = :owner_id"
)


async def _read_state(conn: AsyncConnection, owner_id: UUID, client_id: str) -> sa.Row[Any]:
    state = (await conn.execute(_STATE, {"owner_id": owner_id, "client_id": client_id})).one()
    if state.foreign_client:
        raise ClientNotYours(client_id)
    return state


def _start(state: sa.Row[Any], cursor: str | None) -> Position | None:
    """Where the page starts; None when the device must reset."""
    if cursor is None:
        return Position(0, BOUNDARY, (), initial_until=max(1, state.version))
    position = decode_cursor(cursor, state.epoch)
    if position is None or max(position.version, position.initial_until) < state.purged_through:
        # From another epoch, or older than the purged tombstones: start again.
        return None
    return position


def _finish(
    state: sa.Row[Any], position: Position, last: tuple[int, int, str] | None
) -> tuple[str, bool, int | None]:
    """The page's cursor, hasMore and lastMutationId; ``last`` is the position of the last
    change delivered when more follow (None: the page reaches the snapshot's version)."""
    upper: int = state.version
    if last is not None:
        version, rank, key = last
        next_position = Position(version, rank, tuple(key.split(":")), position.initial_until)
    else:
        next_position = Position(upper, BOUNDARY, ())
    acknowledged = None
    if state.last_mutation_id is not None and last is None and state.last_mutation_version <= upper:
        # Only once this response holds the effects of the client's last mutation.
        acknowledged = int(state.last_mutation_id)
    return encode_cursor(state.epoch, next_position), last is not None, acknowledged


def _page(state: sa.Row[Any], position: Position, rows: list[sa.Row[Any]], limit: int) -> PullPage:
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = (rows[-1].server_version, rows[-1].rank, rows[-1].key) if has_more else None
    cursor, has_more, acknowledged = _finish(state, position, last)
    return PullPage(
        changes=[row.change for row in rows],
        cursor=cursor,
        has_more=has_more,
        reset=False,
        last_mutation_id=acknowledged,
        server_hlc=state.hlc,
    )


Found = TypeVar("Found")
# Reads a page's changes inside the snapshot: (connection, statement parameters, page size).
Reader = Callable[[AsyncConnection, dict[str, Any], Position, int], Awaitable[Found]]


async def _pull(
    engine: AsyncEngine,
    read: Reader[Found],
    *,
    owner_id: UUID,
    client_id: str,
    cursor: str | None,
    limit: int,
) -> tuple[sa.Row[Any], Position | None, Found | None]:
    """The feed state, where the page starts (None: reset), and what ``read`` found (None:
    nothing newer than the cursor, so no snapshot was opened)."""
    async with engine.connect() as raw:
        # Most pulls are polls that find nothing new: one statement, outside any transaction,
        # answers them.
        conn = await outside_transaction(raw)
        state = await _read_state(conn, owner_id, client_id)
        position = _start(state, cursor)
        if position is None:
            return state, None, None
        if position.version >= state.version and position.rank == BOUNDARY:
            return state, position, None
        # Ends SQLAlchemy's notion of a transaction (in AUTOCOMMIT nothing is sent).
        await conn.commit()
        replica = replica_of(engine)
        if replica is None:
            snapshot = await _read_snapshot(raw, read, owner_id, client_id, cursor, limit)
            assert snapshot is not None
            return snapshot
    # The page from the replica if it has every commit the primary had for this owner when
    # this pull began (read-your-writes); otherwise from the primary (store/replica.py).
    async with replica.connect() as raw:
        snapshot = await _read_snapshot(
            raw, read, owner_id, client_id, cursor, limit, at_least=state.version
        )
    if snapshot is not None:
        REPLICA_READS.labels("replica").inc()
        return snapshot
    REPLICA_READS.labels("primary").inc()
    async with engine.connect() as raw:
        snapshot = await _read_snapshot(raw, read, owner_id, client_id, cursor, limit)
    assert snapshot is not None
    return snapshot


async def _read_snapshot(
    raw: AsyncConnection,
    read: Reader[Found],
    owner_id: UUID,
    client_id: str,
    cursor: str | None,
    limit: int,
    *,
    at_least: int | None = None,
) -> tuple[sa.Row[Any], Position | None, Found | None] | None:
    """Read the page in one snapshot; None if its owner version is below ``at_least``."""
    conn = await raw.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    async with conn.begin():
        # Read again: the page's upper bound must be the version of this snapshot.
        state = await _read_state(conn, owner_id, client_id)
        if at_least is not None and state.version < at_least:
            return None
        position = _start(state, cursor)
        if position is None:
            return state, None, None
        params: dict[str, Any] = {
            "owner_id": owner_id,
            "version": position.version,
            "upper": state.version,
            "limit": limit + 1,
            "initial_until": position.initial_until,
        }
        for n, value in enumerate(position.key):
            params[f"key{n}"] = UUID(value)
        # A page of 5,000 changes sorts a few megabytes of JSON; the default 4 MB of
        # work_mem would send that sort to disk.
        await conn.execute(_SORT_MEMORY)
        found = await read(conn, params, position, limit)
    return state, position, found


async def _read_rows(
    conn: AsyncConnection, params: dict[str, Any], position: Position, limit: int
) -> list[sa.Row[Any]]:
    query = _page_query(position.rank, bool(position.initial_until))
    return list((await conn.execute(query, params)).all())


async def _read_rendered(
    conn: AsyncConnection, params: dict[str, Any], position: Position, limit: int
) -> sa.Row[Any]:
    query = _rendered_query(position.rank, bool(position.initial_until))
    return (await conn.execute(query, {**params, "page": limit})).one()


async def collect_changes(
    engine: AsyncEngine, *, owner_id: UUID, client_id: str, cursor: str | None, limit: int
) -> PullPage:
    """Return the next page of changes after ``cursor`` (None: the first sync)."""
    limit = max(1, min(limit, MAX_PAGE))
    state, position, rows = await _pull(
        engine, _read_rows, owner_id=owner_id, client_id=client_id, cursor=cursor, limit=limit
    )
    if position is None:
        return PullPage([], None, False, True, None, state.hlc)
    page = _page(state, position, rows or [], limit)
    PULL_CHANGES.observe(len(page.changes))
    return page


async def render_changes(
    engine: AsyncEngine, *, owner_id: UUID, client_id: str, cursor: str | None, limit: int
) -> RenderedPage:
    """As ``collect_changes``, with the page's changes as one JSON array (UTF-8 bytes)."""
    limit = max(1, min(limit, MAX_PAGE))
    state, position, found = await _pull(
        engine, _read_rendered, owner_id=owner_id, client_id=client_id, cursor=cursor, limit=limit
    )
    if position is None:
        return RenderedPage(b"[]", None, False, True, None, state.hlc)
    last = None
    changes = b"[]"
    PULL_CHANGES.observe(found.size if found is not None else 0)
    if found is not None:
        changes = found.changes
        if found.has_more:
            last = (found.last_version, found.last_rank, found.last_key)
    cursor_out, has_more, acknowledged = _finish(state, position, last)
    return RenderedPage(changes, cursor_out, has_more, False, acknowledged, state.hlc)


__all__ = ["ClientNotYours", "PullPage", "RenderedPage", "collect_changes", "render_changes"]
