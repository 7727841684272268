"""leaner planning writes: history index of sent rows only, no plan_id

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:00:00

The index behind ``notifications(first, after)`` covered pending rows too, though that list
shows only rows a worker has taken. Planning writes pending rows by the hundred thousand;
leaving them out of this index made a full planning pass about a fifth cheaper
(bench/RESULTS.md).

``plan_id`` marked the pending rows a planning pass confirmed, so that the rest could be
retired. The planner now compares unique keys instead, which lets it leave unchanged rows
unwritten; the column has no use left.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: list[str | sa.ColumnElement[object]] = [
    "owner_id",
    sa.literal_column("send_at DESC"),
    sa.literal_column("id DESC"),
]


def upgrade() -> None:
    op.drop_column("scheduled_notifications", "plan_id")
    op.drop_index("ix_scheduled_notifications_history", table_name="scheduled_notifications")
    op.create_index(
        "ix_scheduled_notifications_history",
        "scheduled_notifications",
        COLUMNS,
        postgresql_where=sa.text("status <> 'PENDING'"),
    )


def downgrade() -> None:
    op.drop_index("ix_scheduled_notifications_history", table_name="scheduled_notifications")
    op.create_index("ix_scheduled_notifications_history", "scheduled_notifications", COLUMNS)
    op.add_column(
        "scheduled_notifications",
        sa.Column("plan_id", UUID(as_uuid=True), nullable=True),
    )
