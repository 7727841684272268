"""contacts: targets, people the user wants to meet, with why, for which goal, and research

Revision ID: 0017
Revises: 0019
Create Date: 2026-12-07 15:30:00

``is_target``, ``target_reason``, ``target_goal_id`` and ``research_notes`` are synced contact
fields; ``target_met_at`` is derived by the server (sync/derived.py) from the first interaction
or MET attendance. A partial index serves the short list of targets still to meet.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "contacts",
        sa.Column("is_target", sa.Boolean, server_default=sa.false(), nullable=False),
    )
    op.add_column("contacts", sa.Column("target_reason", sa.Text, nullable=True))
    op.add_column(
        "contacts", sa.Column("target_goal_id", postgresql.UUID(as_uuid=True), nullable=True)
    )
    op.add_column("contacts", sa.Column("research_notes", sa.Text, nullable=True))
    op.add_column("contacts", sa.Column("target_met_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        "fk_contacts_owner_id_target_goal_id_goals",
        "contacts",
        "goals",
        ["owner_id", "target_goal_id"],
        ["owner_id", "id"],
        ondelete="SET NULL (target_goal_id)",
    )
    op.create_index(
        "ix_contacts_targets",
        "contacts",
        ["owner_id", "sort_name", "id"],
        postgresql_where=sa.text("is_target AND target_met_at IS NULL AND cl % 2 = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_targets", table_name="contacts")
    op.drop_constraint("fk_contacts_owner_id_target_goal_id_goals", "contacts", type_="foreignkey")
    for column in ("target_met_at", "research_notes", "target_goal_id", "target_reason"):
        op.drop_column("contacts", column)
    op.drop_column("contacts", "is_target")
