"""email_verified: users.email_verified_at, and a 'verify' purpose for emailed tokens

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-07 17:00:00

Colleague invitations are found by email, so they wait until an account proves its address.
Existing accounts start unverified: nothing proved their address (a Firebase account is
marked on its next sign-in whose token says email_verified).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.drop_constraint(op.f("ck_account_tokens_purpose_known"), "account_tokens", type_="check")
    op.create_check_constraint(
        op.f("ck_account_tokens_purpose_known"),
        "account_tokens",
        "purpose IN ('reset', 'email', 'verify')",
    )


def downgrade() -> None:
    op.execute("DELETE FROM account_tokens WHERE purpose = 'verify'")
    op.drop_constraint(op.f("ck_account_tokens_purpose_known"), "account_tokens", type_="check")
    op.create_check_constraint(
        op.f("ck_account_tokens_purpose_known"),
        "account_tokens",
        "purpose IN ('reset', 'email')",
    )
    op.drop_column("users", "email_verified_at")
