"""Sharding readiness, read from the migrated database's catalog (not from the models).

Citus distributes a table by one column and enforces a primary key, a unique index or a
foreign key between distributed tables only when it includes that column. Every user-owned
table must therefore have owner_id in each of them; the others are global tables, each with
its reason (store.sharding.GLOBAL_TABLES).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store.sharding import GLOBAL_TABLES, SHARD_KEY, distribution_statements

TABLES = sa.text(
    "SELECT c.relname AS name, EXISTS (SELECT FROM pg_attribute AS a WHERE a.attrelid = c.oid"
    " AND a.attname = :key AND NOT a.attisdropped) AS owned"
    " FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version'"
)
# Every unique index (primary keys and unique constraints included) with its columns.
UNIQUE_INDEXES = sa.text(
    "SELECT t.relname AS table_name, i.relname AS index_name,"
    " array(SELECT a.attname FROM unnest(x.indkey) AS k JOIN pg_attribute AS a"
    " ON a.attrelid = x.indrelid AND a.attnum = k)::text[] AS columns"
    " FROM pg_index AS x JOIN pg_class AS t ON t.oid = x.indrelid"
    " JOIN pg_class AS i ON i.oid = x.indexrelid"
    " JOIN pg_namespace AS n ON n.oid = t.relnamespace"
    " WHERE n.nspname = 'public' AND x.indisunique"
)
# Every foreign key: its columns paired with the referenced table's columns.
FOREIGN_KEYS = sa.text(
    "SELECT t.relname AS table_name, f.relname AS referenced, k.conname AS name,"
    " array(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(n, i)"
    " JOIN pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i)::text[]"
    " AS columns,"
    " array(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY AS u(n, i)"
    " JOIN pg_attribute AS a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i)::text[]"
    " AS referenced_columns"
    " FROM pg_constraint AS k JOIN pg_class AS t ON t.oid = k.conrelid"
    " JOIN pg_class AS f ON f.oid = k.confrelid"
    " JOIN pg_namespace AS n ON n.oid = t.relnamespace"
    " WHERE n.nspname = 'public' AND k.contype = 'f'"
)


async def _catalog(engine: AsyncEngine) -> tuple[dict[str, bool], list[sa.Row], list[sa.Row]]:  # type: ignore[type-arg]
    async with engine.connect() as conn:
        tables = {row.name: row.owned for row in await conn.execute(TABLES, {"key": SHARD_KEY})}
        unique = list(await conn.execute(UNIQUE_INDEXES))
        foreign = list(await conn.execute(FOREIGN_KEYS))
    return tables, unique, foreign


async def test_every_table_is_owned_or_a_named_global_one(engine: AsyncEngine) -> None:
    tables, _, _ = await _catalog(engine)
    owned = {name for name, has_owner in tables.items() if has_owner}
    assert set(tables) - owned == set(GLOBAL_TABLES)
    assert not owned & set(GLOBAL_TABLES)


async def test_every_key_of_an_owned_table_includes_owner_id(engine: AsyncEngine) -> None:
    tables, unique, foreign = await _catalog(engine)
    owned = {name for name, has_owner in tables.items() if has_owner}
    problems = [
        f"unique index {row.index_name} on {row.table_name}{tuple(row.columns)}"
        for row in unique
        if row.table_name in owned and SHARD_KEY not in row.columns
    ]
    for row in foreign:
        pairs = dict(zip(row.columns, row.referenced_columns, strict=True))
        if row.table_name in owned and row.referenced in owned:
            # Between sharded tables: owner_id must meet owner_id, so both rows share a node.
            if pairs.get(SHARD_KEY) != SHARD_KEY:
                problems.append(f"foreign key {row.name} of {row.table_name}{tuple(row.columns)}")
        elif row.table_name in owned:
            # To a global table: allowed to reference tables only (copied to every node).
            if GLOBAL_TABLES[row.referenced][0] != "reference":
                problems.append(f"foreign key {row.name} to the local table {row.referenced}")
        elif row.referenced in owned:
            problems.append(f"foreign key {row.name} from global {row.table_name} to a sharded one")
    primary_keys = {row.table_name for row in unique if row.index_name.startswith("pk_")}
    problems += [f"no primary key on {name}" for name in owned - primary_keys]
    assert problems == []


async def test_the_distribution_statements_cover_every_table_once(engine: AsyncEngine) -> None:
    tables, _, _ = await _catalog(engine)
    named = [re.search(r"\('(\w+)'", s).group(1) for s in distribution_statements()]  # type: ignore[union-attr]
    assert sorted(named) == sorted(tables)
    distributed = [
        re.search(r"\('(\w+)', '(\w+)'", s).groups()  # type: ignore[union-attr]
        for s in distribution_statements()
        if "create_distributed_table" in s
    ]
    assert {name for name, _ in distributed} == {n for n, owned in tables.items() if owned}
    assert {key for _, key in distributed} == {SHARD_KEY}
