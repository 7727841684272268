"""Exports: each export link's download, recorded when it starts, so a link works once."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from store.tables.columns import metadata

# One row per export link that started a download (transfer/link.py names the link by its
# ``link_id``). A row outlives its link only until the owner's next download prunes it.
export_downloads = sa.Table(
    "export_downloads",
    metadata,
    sa.Column(
        "owner_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("link_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    # The link's end: past it the row is kept for nothing, since the link is refused anyway.
    sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=False),
)
