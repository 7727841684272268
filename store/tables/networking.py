"""Networking goals and events, and who attended."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from store.tables.columns import metadata, owned_fk, owner_column, sync_columns, timestamps

goals = sa.Table(
    "goals",
    metadata,
    owner_column(),
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
    *sync_columns(),
    *timestamps(),
    owned_fk(["tag_id"], "tags", ["id"], optional=True),
    sa.CheckConstraint("target > 0", name="target_positive"),
    sa.Index("ix_goals_version", "owner_id", "server_version", "id"),
)

events = sa.Table(
    "events",
    metadata,
    owner_column(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("location", sa.Text, nullable=True),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("notes", sa.Text, nullable=True),
    *sync_columns(),
    *timestamps(),
    sa.Index("ix_events_starts", "owner_id", "starts_at", "id"),
    sa.Index("ix_events_version", "owner_id", "server_version", "id"),
)

event_attendees = sa.Table(
    "event_attendees",
    metadata,
    owner_column(),
    sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("contact_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("note", sa.Text, nullable=True),
    # PLANNED: to meet there; MET: met there.
    sa.Column("status", sa.Text, nullable=False, server_default="MET"),
    *sync_columns(),
    *timestamps(),
    owned_fk(["event_id"], "events", ["id"]),
    owned_fk(["contact_id"], "contacts", ["id"]),
    sa.Index("ix_event_attendees_contact", "owner_id", "contact_id"),
    sa.Index("ix_event_attendees_version", "owner_id", "server_version", "event_id", "contact_id"),
)
