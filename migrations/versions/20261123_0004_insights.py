"""insights: archived goals, attendee status, statistics on the alive bit

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:00:00

Goals can be archived (kept, but no longer shown as active).
Reconnect suggestions rank all of an owner's contacts by how overdue they are; a covering index
lets that read skip the wide contact rows. An event's attendee is someone
the user plans to meet there (``PLANNED``) or met there (``MET``). Goals, events and their
attendees become synced lists, so they get the statistics 0002 gave the other synced tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("goals", "events", "event_attendees")


def upgrade() -> None:
    op.add_column(
        "goals", sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.add_column(
        "event_attendees", sa.Column("status", sa.Text, nullable=False, server_default="MET")
    )
    for table in TABLES:
        op.execute(f"CREATE STATISTICS st_{table}_alive ON (cl % 2) FROM {table}")
        op.execute(f"ANALYZE {table}")
    op.create_index(
        "ix_contacts_reconnect",
        "contacts",
        ["owner_id"],
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
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_reconnect", table_name="contacts")
    for table in TABLES:
        op.execute(f"DROP STATISTICS IF EXISTS st_{table}_alive")
    op.drop_column("event_attendees", "status")
    op.drop_column("goals", "archived")
