"""tags: deleted tags get the clock of their delete, so a later same-name create restores them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 08:30:00

From this release a tag's delete records the server's clock in ``field_hlc`` under
``@deleted`` (sync.entity.DELETED_CLOCK), and a same-name create clocked later brings the tag
back. Tags deleted before it have no such clock and would stay deleted for ever. They get the
latest clock the server has given their owner (or now, for an owner who never synced): no later
than any create the server has already seen, so no decision taken before this release changes,
and every create made after it restores the tag as the rule says.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # sync.hlc packs a clock as 15 digits of wall milliseconds, a 5-digit counter, a node.
    op.execute(
        """
        UPDATE tags AS t
        SET field_hlc = t.field_hlc || jsonb_build_object('@deleted', GREATEST(
            COALESCE(o.hlc, ''),
            lpad((extract(epoch FROM now()) * 1000)::bigint::text, 15, '0') || '-00000-server'
        ))
        FROM users AS u
        LEFT JOIN sync_owners AS o ON o.owner_id = u.id
        WHERE u.id = t.owner_id AND t.cl % 2 = 0 AND NOT t.field_hlc ? '@deleted'
        """
    )


def downgrade() -> None:
    op.execute("UPDATE tags SET field_hlc = field_hlc - '@deleted' WHERE field_hlc ? '@deleted'")
