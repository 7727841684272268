"""rate_limits: one row per throttled key (sign-in per account and address, sign-up per address)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 21:00:00

Each row holds the key's "theoretical arrival time" (GCRA): every API process reads and moves
it with one upsert, so a limit holds across processes. Keys are SHA-256 digests of the email
or address, so the table keeps no one's email or address in the clear.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("tat", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    op.create_index("rate_limits_tat", "rate_limits", ["tat"])


def downgrade() -> None:
    op.drop_table("rate_limits")
