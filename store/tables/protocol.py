"""The sync protocol's own rows: each owner's version, each device install, and what pushes
refused or lost to a concurrent edit."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from store.tables.columns import metadata, now, owner_column

# The owner's version row: every write transaction bumps it first, which serializes one
# owner's writers so that versions commit in version order. ``hlc`` is the greatest clock the
# owner's data has seen; the server stamps online writes after it.
sync_owners = sa.Table(
    "sync_owners",
    metadata,
    sa.Column(
        "owner_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("hlc", sa.Text, nullable=False, server_default=""),
    sa.Column("epoch", UUID(as_uuid=True), nullable=False),
    # Tombstones up to this version were purged: an older cursor must reset.
    sa.Column("purged_through", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    # Set by every write (sync.writer.begin_write), cleared by the planner once it has planned
    # the owner at that version: an idle planning pass reads this partial index, not every owner.
    sa.Column("needs_plan", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("sync_owners_needs_plan", "owner_id", postgresql_where=sa.text("needs_plan")),
)

# One row per device install (``clientId``); a client id belongs to exactly one user.
sync_clients = sa.Table(
    "sync_clients",
    metadata,
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column(
        "owner_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("last_mutation_id", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    # The owner version of the push that applied last_mutation_id: a pull tells the client its
    # mutation is acknowledged only once the pull covers this version.
    sa.Column("last_mutation_version", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("clock_flagged_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    # owner_id leads the key (the sharding key); one owner per client id is sync.client's
    # check, and this index serves it.
    sa.PrimaryKeyConstraint("owner_id", "client_id"),
    sa.Index("ix_sync_clients_client_id", "client_id"),
)

# Mutations refused for good (bad input, unknown names). They still advance the client's
# mutation id, so no device is wedged; this table keeps what was refused and why.
sync_rejections = sa.Table(
    "sync_rejections",
    metadata,
    sa.Column("client_id", sa.Text, nullable=False),
    sa.Column("mutation_id", sa.BigInteger, nullable=False),
    sa.Column(
        "owner_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("owner_id", "client_id", "mutation_id"),
)

# The losing value of concurrent edits of long text, kept for the app to show.
sync_conflicts = sa.Table(
    "sync_conflicts",
    metadata,
    owner_column(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("entity", sa.Text, nullable=False),
    sa.Column("entity_id", UUID(as_uuid=True), nullable=False),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("losing_value", sa.Text, nullable=True),
    sa.Column("losing_hlc", sa.Text, nullable=False),
    sa.Column("winning_value", sa.Text, nullable=True),
    sa.Column("winning_hlc", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolution", sa.Text, nullable=True),
    sa.Index("ix_sync_conflicts_open", "owner_id", "resolved_at", sa.text("created_at DESC"), "id"),
)
