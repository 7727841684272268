"""every owner has a planner row: planning passes claim owners by locking it

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00

A planning pass now claims the owners it plans with ``FOR UPDATE SKIP LOCKED`` on their
``planner_owners`` rows, so several workers share planning instead of repeating each other.
Sign-up creates the row; owners from before it got theirs only after a first plan, and those
never planned yet (none, or a pass that failed) get theirs here.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO planner_owners (owner_id) SELECT owner_id FROM sync_owners"
        " ON CONFLICT (owner_id) DO NOTHING"
    )


def downgrade() -> None:
    # The rows are harmless to the older code, which inserts them itself after a first plan.
    pass
