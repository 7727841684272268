"""Colleagues: invitations between accounts, the links they make, and what crosses a link
(shared contact cards, requests for warm introductions).

Every row but an invitation belongs to one side: a link, a shared card and an introduction
request are stored once per side, each owned by its owner and sharing one id, so each owner's
rows stay on the owner's shard and no key spans two owners. One side's change reaches the other
side's row in a second transaction of that owner's (sync/colleague_peer.py); ``peer_synced`` is
false until it did, so a step lost to a crash is applied again. An invitation is addressed to an
email that may have no account yet, so it is a global table found by the address's digest.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from store.tables.columns import metadata, now, owned_fk, owner_column

colleague_invitations = sa.Table(
    "colleague_invitations",
    metadata,
    # Also the id of the link it makes, on both sides.
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "inviter_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # SHA-256 of the normalized address: an invitee is found by their email's digest.
    sa.Column("email_hash", sa.LargeBinary, nullable=False, index=True),
    # The address as the inviter typed it (normalized), shown to the inviter only.
    sa.Column("email", sa.Text, nullable=False),
    # PENDING, ACCEPTED or DECLINED (expired: PENDING past expires_at).
    sa.Column("status", sa.Text, nullable=False, server_default="PENDING"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index(
        "uq_colleague_invitations_pending",
        "inviter_id",
        "email_hash",
        unique=True,
        postgresql_where=sa.text("status = 'PENDING'"),
    ),
)


def _peer_column() -> sa.Column[object]:
    # The other account; cleared (not cascaded) when it is deleted, so this side's row stays
    # and reads show the link ended.
    return sa.Column(
        "peer_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="SET NULL"),
        nullable=True,
    )


def _synced_column() -> sa.Column[object]:
    return sa.Column("peer_synced", sa.Boolean, nullable=False, server_default=sa.false())


colleagues = sa.Table(
    "colleagues",
    metadata,
    owner_column(),
    # The link's id, the same on both sides (the invitation's id).
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    _peer_column(),
    # The colleague's name and email when the link was made, kept after their account goes.
    sa.Column("peer_name", sa.Text, nullable=False),
    sa.Column("peer_email", sa.Text, nullable=False),
    # ACTIVE or ENDED.
    sa.Column("status", sa.Text, nullable=False, server_default="ACTIVE"),
    # Who ended it: YOU, COLLEAGUE or ACCOUNT_DELETED.
    sa.Column("ended_by", sa.Text, nullable=True),
    sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    _synced_column(),
    sa.Index(
        "uq_colleagues_active_peer",
        "owner_id",
        "peer_id",
        unique=True,
        postgresql_where=sa.text("status = 'ACTIVE'"),
    ),
    sa.Index("ix_colleagues_unsynced", "owner_id", postgresql_where=sa.text("NOT peer_synced")),
)

shared_cards = sa.Table(
    "shared_cards",
    metadata,
    owner_column(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("link_id", UUID(as_uuid=True), nullable=False),
    # OUT: shared by the owner; IN: shared with the owner.
    sa.Column("direction", sa.Text, nullable=False),
    # The chosen fields of the card as a contact patch (firstName, company, emails…).
    sa.Column("card", JSONB, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    # PENDING, ACCEPTED, DISMISSED, or ENDED (the link ended first).
    sa.Column("status", sa.Text, nullable=False, server_default="PENDING"),
    # OUT: the contact shared; IN: the contact the card became, once accepted.
    sa.Column("contact_id", UUID(as_uuid=True), nullable=True),
    # The introduction request this card answered, if any (the same id on both sides).
    sa.Column("introduction_id", UUID(as_uuid=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
    _synced_column(),
    owned_fk(["link_id"], "colleagues", ["id"]),
    owned_fk(["contact_id"], "contacts", ["id"], optional=True),
    sa.CheckConstraint("direction IN ('IN', 'OUT')", name="direction_known"),
    sa.Index("ix_shared_cards_list", "owner_id", "direction", sa.text("created_at DESC"), "id"),
    sa.Index("ix_shared_cards_link", "owner_id", "link_id"),
    sa.Index("ix_shared_cards_unsynced", "owner_id", postgresql_where=sa.text("NOT peer_synced")),
)

introduction_requests = sa.Table(
    "introduction_requests",
    metadata,
    owner_column(),
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("link_id", UUID(as_uuid=True), nullable=False),
    # OUT: the owner asked; IN: the owner was asked.
    sa.Column("direction", sa.Text, nullable=False),
    # Whom the asker wants to meet, in the asker's words: the asker cannot see the contacts.
    sa.Column("whom", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    # PENDING, ACCEPTED, DECLINED, or ENDED (the link ended first).
    sa.Column("status", sa.Text, nullable=False, server_default="PENDING"),
    # The introducer's answer to the asker.
    sa.Column("response", sa.Text, nullable=True),
    # OUT: the asker's own contact the request is about (optional); IN: the contact chosen.
    sa.Column("contact_id", UUID(as_uuid=True), nullable=True),
    # The card shared with the acceptance, if the introducer shared one.
    sa.Column("shared_card_id", UUID(as_uuid=True), nullable=True),
    # This side's INTRODUCTION interaction, once logged.
    sa.Column("interaction_id", UUID(as_uuid=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
    _synced_column(),
    owned_fk(["link_id"], "colleagues", ["id"]),
    owned_fk(["contact_id"], "contacts", ["id"], optional=True),
    sa.CheckConstraint("direction IN ('IN', 'OUT')", name="direction_known"),
    sa.Index(
        "ix_introduction_requests_list", "owner_id", "direction", sa.text("created_at DESC"), "id"
    ),
    sa.Index("ix_introduction_requests_link", "owner_id", "link_id"),
    sa.Index(
        "ix_introduction_requests_unsynced",
        "owner_id",
        postgresql_where=sa.text("NOT peer_synced"),
    ),
)
