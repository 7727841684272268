"""colleagues: invitations between accounts, links, shared cards, introduction requests

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-07 16:00:00

The first rows that concern two accounts (store/tables/colleague.py). An invitation is a global
table, found by the digest of the invitee's email before the invitee is known; the rest are
stored once per side, each owned by its owner, so every key leads with ``owner_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0018"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _owner() -> sa.Column[object]:
    return sa.Column(
        "owner_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE", name=None),
        primary_key=True,
    )


def _peer() -> sa.Column[object]:
    return sa.Column("peer_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL"))


def _synced() -> sa.Column[object]:
    return sa.Column("peer_synced", sa.Boolean, nullable=False, server_default=sa.false())


def _owned_fk(column: str, table: str, *, optional: bool = False) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["owner_id", column],
        [f"{table}.owner_id", f"{table}.id"],
        ondelete=f"SET NULL ({column})" if optional else "CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "colleague_invitations",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "inviter_id",
            UUID(as_uuid=True),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("email_hash", sa.LargeBinary, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="PENDING"),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_colleague_invitations_inviter_id", "colleague_invitations", ["inviter_id"])
    op.create_index("ix_colleague_invitations_email_hash", "colleague_invitations", ["email_hash"])
    op.create_index(
        "uq_colleague_invitations_pending",
        "colleague_invitations",
        ["inviter_id", "email_hash"],
        unique=True,
        postgresql_where=sa.text("status = 'PENDING'"),
    )

    op.create_table(
        "colleagues",
        _owner(),
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _peer(),
        sa.Column("peer_name", sa.Text, nullable=False),
        sa.Column("peer_email", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="ACTIVE"),
        sa.Column("ended_by", sa.Text, nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        _synced(),
    )
    op.create_index(
        "uq_colleagues_active_peer",
        "colleagues",
        ["owner_id", "peer_id"],
        unique=True,
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )
    op.create_index(
        "ix_colleagues_unsynced",
        "colleagues",
        ["owner_id"],
        postgresql_where=sa.text("NOT peer_synced"),
    )

    op.create_table(
        "shared_cards",
        _owner(),
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("link_id", UUID(as_uuid=True), nullable=False),
        sa.Column("direction", sa.Text, nullable=False),
        sa.Column("card", JSONB, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("status", sa.Text, nullable=False, server_default="PENDING"),
        sa.Column("contact_id", UUID(as_uuid=True), nullable=True),
        sa.Column("introduction_id", UUID(as_uuid=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        _synced(),
        _owned_fk("link_id", "colleagues"),
        _owned_fk("contact_id", "contacts", optional=True),
        sa.CheckConstraint("direction IN ('IN', 'OUT')", name="direction_known"),
    )
    op.create_index(
        "ix_shared_cards_list",
        "shared_cards",
        ["owner_id", "direction", sa.text("created_at DESC"), "id"],
    )
    op.create_index("ix_shared_cards_link", "shared_cards", ["owner_id", "link_id"])
    op.create_index(
        "ix_shared_cards_unsynced",
        "shared_cards",
        ["owner_id"],
        postgresql_where=sa.text("NOT peer_synced"),
    )

    op.create_table(
        "introduction_requests",
        _owner(),
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("link_id", UUID(as_uuid=True), nullable=False),
        sa.Column("direction", sa.Text, nullable=False),
        sa.Column("whom", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("status", sa.Text, nullable=False, server_default="PENDING"),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("contact_id", UUID(as_uuid=True), nullable=True),
        sa.Column("shared_card_id", UUID(as_uuid=True), nullable=True),
        sa.Column("interaction_id", UUID(as_uuid=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        _synced(),
        _owned_fk("link_id", "colleagues"),
        _owned_fk("contact_id", "contacts", optional=True),
        sa.CheckConstraint("direction IN ('IN', 'OUT')", name="direction_known"),
    )
    op.create_index(
        "ix_introduction_requests_list",
        "introduction_requests",
        ["owner_id", "direction", sa.text("created_at DESC"), "id"],
    )
    op.create_index(
        "ix_introduction_requests_link", "introduction_requests", ["owner_id", "link_id"]
    )
    op.create_index(
        "ix_introduction_requests_unsynced",
        "introduction_requests",
        ["owner_id"],
        postgresql_where=sa.text("NOT peer_synced"),
    )


def downgrade() -> None:
    op.drop_table("introduction_requests")
    op.drop_table("shared_cards")
    op.drop_table("colleagues")
    op.drop_table("colleague_invitations")
