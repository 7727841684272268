"""Pull: the changes a device has not seen, a page at a time, from one consistent snapshot.

Rows are delivered in (server_version, entity rank, key) order. Each page is read in one
REPEATABLE READ transaction whose upper bound is the owner's committed version in that
snapshot; since the version row serializes one owner's writers, every version up to that
bound is complete, so advancing the cursor to it can never skip a change committed late.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store import tables
from sync.client import ClientNotYours, check_client
from sync.cursor import BOUNDARY, Position, decode_cursor, encode_cursor
from sync.entity import CONTACT, INTERACTION, TAG, Entity

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
    Feed(1, "contact", "contacts", ("id",), CONTACT, ("last_interaction_at", "next_follow_up_at")),
    Feed(2, "tag", "tags", ("id",), TAG),
    Feed(3, "tagAlias", "tag_aliases", ("id",)),
    Feed(4, "contactTag", "contact_tags", ("tag_id", "contact_id")),
    Feed(5, "interaction", "interactions", ("id",), INTERACTION),
)


@dataclass(frozen=True)
class Change:
    entity: str
    id: str
    deleted: bool
    cl: int
    server_version: int
    fields: dict[str, Any] | None
    clocks: dict[str, str]
    derived: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PullPage:
    changes: list[Change]
    cursor: str | None
    has_more: bool
    reset: bool
    last_mutation_id: int | None
    server_hlc: str


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _key_text(feed: Feed) -> str:
    return " || ':' || ".join(f"{k}::text" for k in feed.keys)


def _feed_query(feed: Feed, position: Position) -> str:
    keys = ", ".join(feed.keys)
    if feed.rank > position.rank:
        after = "server_version >= :version"
    elif feed.rank < position.rank:
        after = "server_version > :version"
    else:
        params = ", ".join(f":key{n}" for n in range(len(feed.keys)))
        after = f"(server_version, {keys}) > (:version, {params})"
    # A first sync needs no rows deleted before it began: the device has nothing to delete.
    alive = ""
    if position.initial_until and feed.name != "tagAlias":
        alive = " AND (cl % 2 = 1 OR server_version > :initial_until)"
    cl = "cl" if feed.name != "tagAlias" else "1 AS cl"
    # Built from the constant FEEDS only; every value travels as a bound parameter.
    select = f"SELECT {feed.rank} AS rank, server_version, {_key_text(feed)} AS key, {cl}"
    where = f"owner_id = :owner_id AND server_version <= :upper AND {after}{alive}"
    return (
        f"({select}, to_jsonb(t) AS row FROM {feed.table} AS t "
        f"WHERE {where} ORDER BY server_version, {keys} LIMIT :limit)"
    )


def _change(feed: Feed, row: Mapping[Any, Any], participants: Mapping[str, list[str]]) -> Change:
    data: dict[str, Any] = row["row"]
    deleted = row["cl"] % 2 == 0
    fields: dict[str, Any] | None
    if deleted:
        fields = None
    elif feed.entity is not None:
        fields = {name: fm.from_row(data) for name, fm in feed.entity.fields.items()}
        if feed.name == "interaction":
            fields["contactIds"] = participants.get(row["key"], [])
    else:
        fields = {_camel(k): data[k] for k in data if k.endswith("_id") and k != "owner_id"}
    return Change(
        entity=feed.name,
        id=row["key"],
        deleted=deleted,
        cl=row["cl"],
        server_version=row["server_version"],
        fields=fields,
        clocks=data.get("field_hlc") or {},
        derived={_camel(name): data[name] for name in feed.derived},
    )


async def _participants(
    conn: AsyncConnection, owner_id: UUID, interaction_ids: Sequence[str]
) -> dict[str, list[str]]:
    if not interaction_ids:
        return {}
    p = tables.interaction_participants.c
    query = (
        sa.select(p.interaction_id, p.contact_id)
        .where(p.owner_id == owner_id, p.interaction_id.in_([UUID(i) for i in interaction_ids]))
        .order_by(p.interaction_id, p.contact_id)
    )
    found: dict[str, list[str]] = {}
    for interaction_id, contact_id in (await conn.execute(query)).all():
        found.setdefault(str(interaction_id), []).append(str(contact_id))
    return found


async def collect_changes(
    engine: AsyncEngine, *, owner_id: UUID, client_id: str, cursor: str | None, limit: int
) -> PullPage:
    """Return the next page of changes after ``cursor`` (None: the first sync)."""
    limit = max(1, min(limit, MAX_PAGE))
    async with engine.connect() as raw:
        conn = await raw.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            await conn.execute(sa.text("SET TRANSACTION READ ONLY"))
            # Times in pulled rows are rendered by PostgreSQL: render them in UTC.
            await conn.execute(sa.text("SET LOCAL TIME ZONE 'UTC'"))
            owner = (
                (
                    await conn.execute(
                        sa.select(tables.sync_owners).where(
                            tables.sync_owners.c.owner_id == owner_id
                        )
                    )
                )
                .mappings()
                .one()
            )
            client = await check_client(conn, owner_id=owner_id, client_id=client_id)
            position = (
                decode_cursor(cursor, owner["epoch"])
                if cursor is not None
                else Position(0, BOUNDARY, (), initial_until=max(1, owner["version"]))
            )
            if position is None or (
                cursor is not None
                and max(position.version, position.initial_until) < owner["purged_through"]
            ):
                # From another epoch, or older than the purged tombstones: start again.
                return PullPage([], None, False, True, None, owner["hlc"])
            upper: int = owner["version"]
            params: dict[str, Any] = {
                "owner_id": owner_id,
                "version": position.version,
                "upper": upper,
                "limit": limit + 1,
                "initial_until": position.initial_until,
            }
            for n, value in enumerate(position.key):
                params[f"key{n}"] = UUID(value)
            union = " UNION ALL ".join(_feed_query(f, position) for f in FEEDS)
            query = sa.text(f"{union} ORDER BY server_version, rank, key LIMIT :limit")
            rows = list((await conn.execute(query, params)).mappings().all())
            has_more = len(rows) > limit
            rows = rows[:limit]
            feeds = {f.rank: f for f in FEEDS}
            interactions = [r["key"] for r in rows if r["rank"] == 5 and r["cl"] % 2 == 1]
            participants = await _participants(conn, owner_id, interactions)
    changes = [_change(feeds[r["rank"]], r, participants) for r in rows]
    if has_more:
        last = rows[-1]
        next_position = Position(
            last["server_version"],
            last["rank"],
            tuple(last["key"].split(":")),
            position.initial_until,
        )
    else:
        next_position = Position(upper, BOUNDARY, ())
    acknowledged = None
    if client is not None and not has_more and client["last_mutation_version"] <= upper:
        # Only once this response holds the effects of the client's last mutation.
        acknowledged = int(client["last_mutation_id"])
    return PullPage(
        changes=changes,
        cursor=encode_cursor(owner["epoch"], next_position),
        has_more=has_more,
        reset=False,
        last_mutation_id=acknowledged,
        server_hlc=owner["hlc"],
    )


__all__ = ["Change", "ClientNotYours", "PullPage", "collect_changes"]
