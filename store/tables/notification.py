"""Reminders, the devices pushes go to, and the planner's and worker's rows."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from store.tables.columns import metadata, owned_fk, owner_column, sync_columns, timestamps

devices = sa.Table(
    "devices",
    metadata,
    owner_column(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    # One owner per token is store.notifications.register_device's rule (under a lock per
    # token); a unique index without owner_id could not hold once tables are sharded.
    sa.Column("token", sa.Text, nullable=False, index=True),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("app_version", sa.Text, nullable=True),
    sa.Column("locale", sa.Text, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("disabled_reason", sa.Text, nullable=True),
    *timestamps(),
    sa.UniqueConstraint("owner_id", "token"),
)

reminders = sa.Table(
    "reminders",
    metadata,
    owner_column(),
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
    *sync_columns(),
    *timestamps(),
    owned_fk(["contact_id"], "contacts", ["id"], optional=True),
    sa.CheckConstraint("repeat_every IS NULL OR repeat_every > 0", name="repeat_positive"),
    sa.Index("ix_reminders_due", "owner_id", "due_on", "id"),
    sa.Index("ix_reminders_version", "owner_id", "server_version", "id"),
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
    owner_column(),
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
    # ``title`` and ``body`` are English; a device in another language gets the push worded
    # from these (notifications/wording.py): the contact's name or the reminder's title, and
    # the age turned or the years at work. NULL in rows planned before migration 0016.
    sa.Column("subject_name", sa.Text, nullable=True),
    sa.Column("years", sa.SmallInteger, nullable=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    *timestamps(),
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
    owner_column(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("notification_id", UUID(as_uuid=True), nullable=False),
    sa.Column("device_id", UUID(as_uuid=True), nullable=False),
    sa.Column("platform", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("message_id", sa.Text, nullable=True),
    sa.Column("error_code", sa.Text, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    owned_fk(["notification_id"], "scheduled_notifications", ["id"]),
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
