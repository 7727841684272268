"""statistics on the alive bit of synced rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:00:00

Without them PostgreSQL guesses that ``cl % 2 = 1`` keeps 0.5% of the rows (its default for
an expression it has no statistics on), when nearly all rows are alive. A pull then reads an
owner's rows through the partial list index and sorts all of them, every page, instead of
walking the version index and stopping at the page size: an initial sync of 100,000
interactions sorted 100,000 rows on disk for each of its pages.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("contacts", "interactions", "tags", "contact_tags")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"CREATE STATISTICS st_{table}_alive ON (cl % 2) FROM {table}")
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP STATISTICS IF EXISTS st_{table}_alive")
