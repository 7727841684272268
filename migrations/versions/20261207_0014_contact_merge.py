"""contacts: merged_into names a merge's survivor; duplicate_dismissals remembers "not the same"

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:30:00

A merge (sync/merge.py) deletes the merged contacts and records on each tombstone the contact
it was merged into, so devices that pull the tombstone learn where its history went, and a
device's later edit of it is refused with that survivor named. Dismissed duplicate pairs are
kept per owner, the smaller id first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "contacts", sa.Column("merged_into", postgresql.UUID(as_uuid=True), nullable=True)
    )
    op.create_foreign_key(
        "fk_contacts_owner_id_merged_into_contacts",
        "contacts",
        "contacts",
        ["owner_id", "merged_into"],
        ["owner_id", "id"],
        ondelete="SET NULL (merged_into)",
    )
    op.create_table(
        "duplicate_dismissals",
        sa.Column("owner_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("contact_a", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("contact_b", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "contact_a < contact_b", name=op.f("ck_duplicate_dismissals_ordered_pair")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id", "contact_a"],
            ["contacts.owner_id", "contacts.id"],
            name=op.f("fk_duplicate_dismissals_owner_id_contact_a_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id", "contact_b"],
            ["contacts.owner_id", "contacts.id"],
            name=op.f("fk_duplicate_dismissals_owner_id_contact_b_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_duplicate_dismissals_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "owner_id", "contact_a", "contact_b", name=op.f("pk_duplicate_dismissals")
        ),
    )


def downgrade() -> None:
    op.drop_table("duplicate_dismissals")
    op.drop_constraint("fk_contacts_owner_id_merged_into_contacts", "contacts", type_="foreignkey")
    op.drop_column("contacts", "merged_into")
