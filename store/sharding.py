"""Citus distribution by ``owner_id``: which tables are sharded, which are global, and why.

A table with an ``owner_id`` column is user-owned: Citus distributes it by ``owner_id``,
colocated with the others, so one owner's rows and their joins stay on one node. The rest are
global: looked up by something other than an owner (an email, a token's hash, a client's
address) before the owner is known. tests/integration/test_sharding.py checks the migrated
catalog against this; ``rapport print-distribution`` prints the statements.
"""

from __future__ import annotations

import sqlalchemy as sa

from store.tables import metadata

SHARD_KEY = "owner_id"
ANCHOR = "contacts"

# Global tables and why no owner_id keys them. "reference": copied to every node, so sharded
# tables keep their foreign keys to it; "local": kept on the coordinator only (written on
# every sign-in attempt, which a reference table would send to every node).
GLOBAL_TABLES: dict[str, tuple[str, str]] = {
    "users": ("reference", "found by email or Firebase uid at sign-in, before an owner is known"),
    "auth_sessions": ("reference", "found by the session id an access token carries"),
    "refresh_tokens": ("reference", "found by the hash of the refresh token a client sends"),
    "account_tokens": (
        "reference",
        "found by the hash of the token a reset or confirmation mail"
        " carries, before its user is known",
    ),
    "calendar_feeds": ("reference", "found by the hash of the secret in a feed's URL"),
    "colleague_invitations": (
        "reference",
        "found by the hash of the invitee's email, who may have no account yet",
    ),
    "rate_limits": ("local", "keyed by digests of emails and client addresses, not by owner"),
}


def owned_tables() -> list[sa.Table]:
    """The user-owned tables, each after the tables its foreign keys name."""
    return [t for t in metadata.sorted_tables if SHARD_KEY in t.c]


def distribution_statements() -> list[str]:
    """The SQL that distributes the schema on Citus, in an order Citus accepts."""
    statements = []
    for table in metadata.sorted_tables:
        if table.name in GLOBAL_TABLES:
            kind, _ = GLOBAL_TABLES[table.name]
            if kind == "reference":
                statements.append(f"SELECT create_reference_table('{table.name}');")
            else:
                statements.append(f"SELECT citus_add_local_table_to_metadata('{table.name}');")
    # Foreign keys between sharded tables need them colocated: all with contacts, distributed
    # first (it references no other sharded table, so the order stays one Citus accepts).
    owned = sorted(owned_tables(), key=lambda t: t.name != ANCHOR)
    for table in owned:
        colocate = "none" if table is owned[0] else owned[0].name
        statements.append(
            f"SELECT create_distributed_table('{table.name}', '{SHARD_KEY}',"
            f" colocate_with => '{colocate}');"
        )
    return statements
