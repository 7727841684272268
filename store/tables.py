"""The database tables, as SQLAlchemy Core.

Every user-owned table has ``owner_id`` first in its primary key and in every foreign key, so
a row can never point at another user's row and ``owner_id`` can become the sharding key.
Synced tables carry ``server_version`` (the owner's version when the row last changed),
``field_hlc`` (the clock of each field's last accepted write) and ``cl`` (causal length: odd
means alive, even means deleted). Derived columns are written by the server only.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_now = sa.text("now()")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    ]


def _sync_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("server_version", sa.BigInteger, nullable=False),
        sa.Column("field_hlc", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("cl", sa.Integer, nullable=False, server_default=sa.text("1")),
    ]


def _owner() -> sa.Column[object]:
    return sa.Column(
        "owner_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    )


def _owned_fk(
    columns: list[str], table: str, ref: list[str], *, optional: bool = False
) -> sa.ForeignKeyConstraint:
    # An optional reference (who introduced whom) is cleared when its target row goes, and
    # only its own column: SET NULL on the whole key would clear owner_id too.
    ondelete = f"SET NULL ({', '.join(columns)})" if optional else "CASCADE"
    return sa.ForeignKeyConstraint(
        ["owner_id", *columns],
        [f"{table}.owner_id", *(f"{table}.{c}" for c in ref)],
        ondelete=ondelete,
    )


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("email", sa.Text, nullable=True, unique=True),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("firebase_uid", sa.Text, nullable=True, unique=True),
    sa.Column("display_name", sa.Text, nullable=False, server_default=""),
    sa.Column("time_zone", sa.Text, nullable=False, server_default="UTC"),
    sa.Column("reminder_hour", sa.SmallInteger, nullable=False, server_default=sa.text("9")),
    sa.Column("quiet_hours_start", sa.Time, nullable=True),
    sa.Column("quiet_hours_end", sa.Time, nullable=True),
    sa.Column("daily_digest", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sentiment_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    # Days before each kind of event to notify; a contact or reminder may override its list.
    sa.Column(
        "lead_days",
        JSONB,
        nullable=False,
        server_default=sa.text(
            """'{"birthday": [0, 7], "anniversary": [0], "followUp": [0], "reminder": [0]}'"""
            "::jsonb"
        ),
    ),
    *_timestamps(),
    sa.CheckConstraint("reminder_hour BETWEEN 0 AND 23", name="reminder_hour_range"),
)

# A sign-in creates a session; its refresh tokens rotate on every use. Access tokens name the
# session, so revoking the session revokes them too.
auth_sessions = sa.Table(
    "auth_sessions",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "user_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column(
        "session_id",
        UUID(as_uuid=True),
        sa.ForeignKey("auth_sessions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
)

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
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    # owner_id leads the key (the sharding key); one owner per client id is sync.client's
    # check, and this index serves it.
    sa.PrimaryKeyConstraint("owner_id", "client_id"),
    sa.Index("ix_sync_clients_client_id", "client_id"),
)

devices = sa.Table(
    "devices",
    metadata,
    _owner(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    # One owner per token is store.notifications.register_device's rule (under a lock per
    # token); a unique index without owner_id could not hold once tables are sharded.
    sa.Column("token", sa.Text, nullable=False, index=True),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("app_version", sa.Text, nullable=True),
    sa.Column("locale", sa.Text, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("disabled_reason", sa.Text, nullable=True),
    *_timestamps(),
    sa.UniqueConstraint("owner_id", "token"),
)

contacts = sa.Table(
    "contacts",
    metadata,
    _owner(),
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
    # The contact this one was merged into (sync/merge.py); set only on a merge's tombstones.
    sa.Column("merged_into", UUID(as_uuid=True), nullable=True),
    # Derived, written by the server only.
    sa.Column("sort_name", sa.Text, nullable=False, server_default=""),
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
    sa.Column("last_interaction_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("next_follow_up_at", sa.DateTime(timezone=True), nullable=True),
    *_sync_columns(),
    *_timestamps(),
    _owned_fk(["introduced_by_id"], "contacts", ["id"], optional=True),
    _owned_fk(["merged_into"], "contacts", ["id"], optional=True),
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
    _owner(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False, server_default="NOTE"),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("given", sa.Text, nullable=True),
    sa.Column("received", sa.Text, nullable=True),
    # Derived: VADER compound score of summary and body, null when the owner opted out.
    sa.Column("sentiment", sa.Float, nullable=True),
    *_sync_columns(),
    *_timestamps(),
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
    _owner(),
    sa.Column("interaction_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("contact_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("alive", sa.Boolean, nullable=False, server_default=sa.true()),
    _owned_fk(["interaction_id"], "interactions", ["id"]),
    _owned_fk(["contact_id"], "contacts", ["id"]),
    sa.Index(
        "ix_interaction_participants_contact",
        "owner_id",
        "contact_id",
        sa.text("occurred_at DESC"),
        sa.text("interaction_id DESC"),
    ),
)

reminders = sa.Table(
    "reminders",
    metadata,
    _owner(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("contact_id", UUID(as_uuid=True), nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("notes", sa.Text, nullable=True),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("due_time", sa.Time, nullable=True),
    sa.Column("repeat_unit", sa.Text, nullable=True),
    sa.Column("repeat_every", sa.Integer, nullable=True),
    sa.Column("lead_days", JSONB, nullable=True),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    # The last occurrence marked done: a repeating reminder's schedule stays anchored at
    # due_on (no month-end drift) and two devices completing the same occurrence agree.
    sa.Column("completed_through", sa.Date, nullable=True),
    sa.Column("snoozed_until", sa.Date, nullable=True),
    *_sync_columns(),
    *_timestamps(),
    _owned_fk(["contact_id"], "contacts", ["id"], optional=True),
    sa.CheckConstraint("repeat_every IS NULL OR repeat_every > 0", name="repeat_positive"),
    sa.Index("ix_reminders_due", "owner_id", "due_on", "id"),
    sa.Index("ix_reminders_version", "owner_id", "server_version", "id"),
)

tags = sa.Table(
    "tags",
    metadata,
    _owner(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    # Lower-cased, space-collapsed name: two tags with the same key are the same tag.
    sa.Column("name_key", sa.Text, nullable=False),
    sa.Column("color", sa.Text, nullable=True),
    *_sync_columns(),
    *_timestamps(),
    sa.UniqueConstraint("owner_id", "name_key"),
    sa.Index("ix_tags_version", "owner_id", "server_version", "id"),
)

# Membership is a synced set: ``cl`` odd = tagged, even = untagged, so concurrent tag and
# untag merge by causal length like any delete and restore.
contact_tags = sa.Table(
    "contact_tags",
    metadata,
    _owner(),
    sa.Column("tag_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("contact_id", UUID(as_uuid=True), primary_key=True),
    *_sync_columns(),
    *_timestamps(),
    _owned_fk(["tag_id"], "tags", ["id"]),
    _owned_fk(["contact_id"], "contacts", ["id"]),
    sa.Index("ix_contact_tags_contact", "owner_id", "contact_id"),
    sa.Index("ix_contact_tags_version", "owner_id", "server_version", "tag_id", "contact_id"),
)

goals = sa.Table(
    "goals",
    metadata,
    _owner(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("metric", sa.Text, nullable=False),
    sa.Column("target", sa.Integer, nullable=False),
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=True),
    sa.Column("tag_id", UUID(as_uuid=True), nullable=True),
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
    *_sync_columns(),
    *_timestamps(),
    _owned_fk(["tag_id"], "tags", ["id"], optional=True),
    sa.CheckConstraint("target > 0", name="target_positive"),
    sa.Index("ix_goals_version", "owner_id", "server_version", "id"),
)

events = sa.Table(
    "events",
    metadata,
    _owner(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("location", sa.Text, nullable=True),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("notes", sa.Text, nullable=True),
    *_sync_columns(),
    *_timestamps(),
    sa.Index("ix_events_starts", "owner_id", "starts_at", "id"),
    sa.Index("ix_events_version", "owner_id", "server_version", "id"),
)

event_attendees = sa.Table(
    "event_attendees",
    metadata,
    _owner(),
    sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("contact_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("note", sa.Text, nullable=True),
    # PLANNED: to meet there; MET: met there.
    sa.Column("status", sa.Text, nullable=False, server_default="MET"),
    *_sync_columns(),
    *_timestamps(),
    _owned_fk(["event_id"], "events", ["id"]),
    _owned_fk(["contact_id"], "contacts", ["id"]),
    sa.Index("ix_event_attendees_contact", "owner_id", "contact_id"),
    sa.Index("ix_event_attendees_version", "owner_id", "server_version", "event_id", "contact_id"),
)

# Pairs of contacts the user said are not the same person: duplicateCandidates leaves them out.
# Stored once per pair, the smaller id first. Not synced (see docs/sync.md): only the server
# computes candidates, so only the server needs to know.
duplicate_dismissals = sa.Table(
    "duplicate_dismissals",
    metadata,
    _owner(),
    sa.Column("contact_a", UUID(as_uuid=True), primary_key=True),
    sa.Column("contact_b", UUID(as_uuid=True), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    _owned_fk(["contact_a"], "contacts", ["id"]),
    _owned_fk(["contact_b"], "contacts", ["id"]),
    sa.CheckConstraint("contact_a < contact_b", name="ordered_pair"),
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
    _owner(),
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

# Two devices that create a tag of the same name offline get one tag: the later one's id
# becomes an alias of the first. Synced, so every device learns the mapping.
tag_aliases = sa.Table(
    "tag_aliases",
    metadata,
    _owner(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("tag_id", UUID(as_uuid=True), nullable=False),
    sa.Column("server_version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    _owned_fk(["tag_id"], "tags", ["id"]),
    sa.Index("ix_tag_aliases_version", "owner_id", "server_version", "id"),
)

# What the planner decided to send: one row per (owner, kind, subject, occurrence, lead), so
# planning twice plans once. ``send_at`` is when, in UTC; ``due_at`` is when the worker may
# next try (later than ``send_at`` after a transient failure). A worker claims a row by
# setting SENDING and a lease; a lease that runs out puts the row back within reach.
# Rows a worker has taken: finished or being sent, or waiting out a back-off after a try.
# Rows never tried stay out of history and of its index, which planning writes by the
# hundred thousand.
NOTIFICATION_HISTORY = "status <> 'PENDING' OR attempts > 0"

scheduled_notifications = sa.Table(
    "scheduled_notifications",
    metadata,
    _owner(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("occurrence", sa.Date, nullable=False),
    sa.Column("lead_days", sa.SmallInteger, nullable=False),
    sa.Column("local_date", sa.Date, nullable=False),
    sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="PENDING"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("leased_by", sa.Text, nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("data", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    *_timestamps(),
    sa.UniqueConstraint("owner_id", "kind", "subject_id", "occurrence", "lead_days"),
    sa.Index(
        "ix_scheduled_notifications_due", "due_at", postgresql_where=sa.text("status = 'PENDING'")
    ),
    sa.Index(
        "ix_scheduled_notifications_lease",
        "lease_until",
        postgresql_where=sa.text("status = 'SENDING'"),
    ),
    # The history that notifications(first, after) pages through: rows a worker has taken.
    sa.Index(
        "ix_scheduled_notifications_history",
        "owner_id",
        sa.text("send_at DESC"),
        sa.text("id DESC"),
        postgresql_where=sa.text(NOTIFICATION_HISTORY),
    ),
)

# Each device's outcome for each attempt at a notification. ``device_id`` is no foreign key,
# and the platform is copied here: a device removed while a push to it is in flight must not
# fail the batch's record, and its history outlives it.
notification_deliveries = sa.Table(
    "notification_deliveries",
    metadata,
    _owner(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("notification_id", UUID(as_uuid=True), nullable=False),
    sa.Column("device_id", UUID(as_uuid=True), nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("message_id", sa.Text, nullable=True),
    sa.Column("error_code", sa.Text, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    _owned_fk(["notification_id"], "scheduled_notifications", ["id"]),
    sa.Index("ix_notification_deliveries_notification", "owner_id", "notification_id"),
)

# Where the planner is with each owner: the owner's sync version it last planned from (a
# write bumps the version, so a newer one means "plan again") and when.
planner_owners = sa.Table(
    "planner_owners",
    metadata,
    sa.Column(
        "owner_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("planned_version", sa.BigInteger, nullable=False, server_default=sa.text("-1")),
    # NULL until planned, and again when the owner's settings change; a plan an hour old is
    # redone. Indexed, so a pass finds those owners without reading the others.
    sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("planner_owners_planned_at", "planned_at"),
)

# Throttled keys (see store/ratelimits.py): a key is free again once ``tat`` has passed.
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("key", sa.LargeBinary, primary_key=True),
    sa.Column("tat", sa.DateTime(timezone=True), nullable=False),
    sa.Index("rate_limits_tat", "tat"),
)

# Single-use tokens sent by email (api/reset.py, api/email_change.py): a password reset, or
# the confirmation of a new email address (``new_email``). Only a SHA-256 digest is kept.
account_tokens = sa.Table(
    "account_tokens",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column(
        "user_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("new_email", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("purpose IN ('reset', 'email')", name="purpose_known"),
)

# The secret calendar feed URL of a user (api/calendar_feed.py). The URL's secret is derived
# from the server's key and ``feed_key``; only its SHA-256 digest is kept, to look it up.
calendar_feeds = sa.Table(
    "calendar_feeds",
    metadata,
    sa.Column(
        "user_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("feed_key", sa.LargeBinary, nullable=False),
    sa.Column("secret_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
