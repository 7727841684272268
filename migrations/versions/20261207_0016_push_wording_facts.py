"""scheduled_notifications keeps what a push is about, to word it in each device's language

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 15:45:00

The planner stores a push's English title and body; a device registered in another language
gets the push worded at send time from the facts kept beside them (notifications/wording.py):
``subject_name``, the contact's name or the reminder's title, and ``years``, the age turned or
the years at work. Rows planned before this have neither and are sent as stored, in English;
the next plan (within the hour) fills them in.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, without a default: adding them rewrites no row.
    op.add_column("scheduled_notifications", sa.Column("subject_name", sa.Text(), nullable=True))
    op.add_column("scheduled_notifications", sa.Column("years", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("scheduled_notifications", "years")
    op.drop_column("scheduled_notifications", "subject_name")
