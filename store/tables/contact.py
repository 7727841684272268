"""Contacts and what hangs off them: interactions and who took part, tags and memberships,
tag aliases, and pairs dismissed as not duplicates."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from store.tables.columns import metadata, now, owned_fk, owner_column, sync_columns, timestamps

contacts = sa.Table(
    "contacts",
    metadata,
    owner_column(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("first_name", sa.Text, nullable=False, server_default=""),
    sa.Column("last_name", sa.Text, nullable=False, server_default=""),
    sa.Column("company", sa.Text, nullable=True),
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("emails", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("phones", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("urls", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("birthday_month", sa.SmallInteger, nullable=True),
    sa.Column("birthday_day", sa.SmallInteger, nullable=True),
    sa.Column("birthday_year", sa.SmallInteger, nullable=True),
    sa.Column("work_started_on", sa.Date, nullable=True),
    sa.Column("how_we_met", sa.Text, nullable=True),
    sa.Column("introduced_by_id", UUID(as_uuid=True), nullable=True),
    sa.Column("interests", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("preferred_channel", sa.Text, nullable=True),
    sa.Column("communication_notes", sa.Text, nullable=True),
    sa.Column("cadence_days", sa.Integer, nullable=True),
    sa.Column("snoozed_until", sa.Date, nullable=True),
    sa.Column("stage", sa.Text, nullable=False, server_default="NEW"),
    sa.Column("importance", sa.Text, nullable=False, server_default="NORMAL"),
    sa.Column("notes", sa.Text, nullable=True),
    # Overrides the owner's lead days for this contact's birthday and work anniversary.
    sa.Column("lead_days", JSONB, nullable=True),
    # Someone the user wants to meet (issue 18): why, for which goal, and what they found.
    sa.Column("is_target", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("target_reason", sa.Text, nullable=True),
    sa.Column("target_goal_id", UUID(as_uuid=True), nullable=True),
    sa.Column("research_notes", sa.Text, nullable=True),
    # The contact this one was merged into (sync/merge.py); set only on a merge's tombstones.
    sa.Column("merged_into", UUID(as_uuid=True), nullable=True),
    # Derived, written by the server only.
    sa.Column("sort_name", sa.Text, nullable=False, server_default=""),
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
    sa.Column("last_interaction_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("next_follow_up_at", sa.DateTime(timezone=True), nullable=True),
    # When a target was first met (sync/derived.py); null while not met or not a target.
    sa.Column("target_met_at", sa.DateTime(timezone=True), nullable=True),
    *sync_columns(),
    *timestamps(),
    owned_fk(["introduced_by_id"], "contacts", ["id"], optional=True),
    owned_fk(["merged_into"], "contacts", ["id"], optional=True),
    owned_fk(["target_goal_id"], "goals", ["id"], optional=True),
    sa.CheckConstraint("cadence_days IS NULL OR cadence_days > 0", name="cadence_positive"),
    # Keyset orderings end with id, and so do their indexes (DESIGN §10).
    # Lists show living contacts only; partial indexes let the planner see that the alive
    # filter costs nothing, instead of guessing it keeps 0.5 % of rows and sorting.
    sa.Index(
        "ix_contacts_follow_up",
        "owner_id",
        "next_follow_up_at",
        "id",
        postgresql_where=sa.text("cl % 2 = 1"),
    ),
    sa.Index(
        "ix_contacts_sort_name",
        "owner_id",
        "sort_name",
        "id",
        postgresql_where=sa.text("cl % 2 = 1"),
    ),
    sa.Index(
        "ix_contacts_last_interaction",
        "owner_id",
        sa.text("last_interaction_at DESC NULLS LAST"),
        sa.text("id DESC"),
        postgresql_where=sa.text("cl % 2 = 1"),
    ),
    sa.Index(
        "ix_contacts_created",
        "owner_id",
        sa.text("created_at DESC"),
        sa.text("id DESC"),
        postgresql_where=sa.text("cl % 2 = 1"),
    ),
    sa.Index("ix_contacts_version", "owner_id", "server_version", "id"),
    # The targets list: the few people still to meet, by name.
    sa.Index(
        "ix_contacts_targets",
        "owner_id",
        "sort_name",
        "id",
        postgresql_where=sa.text("is_target AND target_met_at IS NULL AND cl % 2 = 1"),
    ),
    # Reconnect suggestions rank every living contact by how overdue it is: an index-only scan
    # of these few columns instead of the whole row (notes, lists, search text).
    sa.Index(
        "ix_contacts_reconnect",
        "owner_id",
        postgresql_include=[
            "id",
            "importance",
            "cadence_days",
            "last_interaction_at",
            "created_at",
            "snoozed_until",
            "stage",
        ],
        postgresql_where=sa.text("cl % 2 = 1"),
    ),
)

interactions = sa.Table(
    "interactions",
    metadata,
    owner_column(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False, server_default="NOTE"),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("given", sa.Text, nullable=True),
    sa.Column("received", sa.Text, nullable=True),
    # Derived: VADER compound score of summary and body, null when the owner opted out.
    sa.Column("sentiment", sa.Float, nullable=True),
    *sync_columns(),
    *timestamps(),
    sa.Index(
        "ix_interactions_occurred", "owner_id", sa.text("occurred_at DESC"), sa.text("id DESC")
    ),
    sa.Index("ix_interactions_version", "owner_id", "server_version", "id"),
)

# Who took part in an interaction. The set is the interaction's ``contactIds`` field (merged as
# one value); ``occurred_at`` is copied here so a contact's latest interactions are one index
# range scan.
interaction_participants = sa.Table(
    "interaction_participants",
    metadata,
    owner_column(),
    sa.Column("interaction_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("contact_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("alive", sa.Boolean, nullable=False, server_default=sa.true()),
    owned_fk(["interaction_id"], "interactions", ["id"]),
    owned_fk(["contact_id"], "contacts", ["id"]),
    sa.Index(
        "ix_interaction_participants_contact",
        "owner_id",
        "contact_id",
        sa.text("occurred_at DESC"),
        sa.text("interaction_id DESC"),
    ),
)

tags = sa.Table(
    "tags",
    metadata,
    owner_column(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    # Lower-cased, space-collapsed name: two tags with the same key are the same tag.
    sa.Column("name_key", sa.Text, nullable=False),
    sa.Column("color", sa.Text, nullable=True),
    *sync_columns(),
    *timestamps(),
    sa.UniqueConstraint("owner_id", "name_key"),
    sa.Index("ix_tags_version", "owner_id", "server_version", "id"),
)

# Membership is a synced set: ``cl`` odd = tagged, even = untagged, so concurrent tag and
# untag merge by causal length like any delete and restore.
contact_tags = sa.Table(
    "contact_tags",
    metadata,
    owner_column(),
    sa.Column("tag_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("contact_id", UUID(as_uuid=True), primary_key=True),
    *sync_columns(),
    *timestamps(),
    owned_fk(["tag_id"], "tags", ["id"]),
    owned_fk(["contact_id"], "contacts", ["id"]),
    sa.Index("ix_contact_tags_contact", "owner_id", "contact_id"),
    sa.Index("ix_contact_tags_version", "owner_id", "server_version", "tag_id", "contact_id"),
)

# Two devices that create a tag of the same name offline get one tag: the later one's id
# becomes an alias of the first. Synced, so every device learns the mapping.
tag_aliases = sa.Table(
    "tag_aliases",
    metadata,
    owner_column(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("tag_id", UUID(as_uuid=True), nullable=False),
    sa.Column("server_version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    owned_fk(["tag_id"], "tags", ["id"]),
    sa.Index("ix_tag_aliases_version", "owner_id", "server_version", "id"),
)

# Pairs of contacts the user said are not the same person: duplicateCandidates leaves them out.
# Stored once per pair, the smaller id first. Not synced (see docs/sync.md): only the server
# computes candidates, so only the server needs to know.
duplicate_dismissals = sa.Table(
    "duplicate_dismissals",
    metadata,
    owner_column(),
    sa.Column("contact_a", UUID(as_uuid=True), primary_key=True),
    sa.Column("contact_b", UUID(as_uuid=True), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    owned_fk(["contact_a"], "contacts", ["id"]),
    owned_fk(["contact_b"], "contacts", ["id"]),
    sa.CheckConstraint("contact_a < contact_b", name="ordered_pair"),
)
