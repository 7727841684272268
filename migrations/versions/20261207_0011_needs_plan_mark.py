"""planning: a "needs planning" mark set by the write path, so idle passes scan no owners

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-07 13:00:00

A planning pass used to compare every owner's sync version with the one last planned: a scan
of every owner (about 200 ms at 200,000 owners) every two seconds per worker, also when nothing
had changed. Now the write path sets ``sync_owners.needs_plan`` as it bumps the version, and the
planner clears it; a pass reads the owners marked (a partial index) and those whose plan is an
hour old or was reset (an index on ``planner_owners.planned_at``). Owners written since their
last plan are marked here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sync_owners",
        sa.Column("needs_plan", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE sync_owners AS o SET needs_plan = true FROM planner_owners AS p"
        " WHERE p.owner_id = o.owner_id AND o.version > p.planned_version"
    )
    op.create_index(
        "sync_owners_needs_plan",
        "sync_owners",
        ["owner_id"],
        postgresql_where=sa.text("needs_plan"),
    )
    op.create_index("planner_owners_planned_at", "planner_owners", ["planned_at"])


def downgrade() -> None:
    op.drop_index("planner_owners_planned_at", table_name="planner_owners")
    op.drop_index("sync_owners_needs_plan", table_name="sync_owners")
    op.drop_column("sync_owners", "needs_plan")
