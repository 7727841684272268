"""owner_id in every key of user-owned tables: sync clients, sync rejections, device tokens

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:30:00

Citus distributes a table by one column and enforces a primary key or unique index only when it
includes that column. ``sync_clients`` and ``sync_rejections`` were keyed by the client id, and
``devices.token`` was unique on its own; each now leads with ``owner_id`` (docs/operations.md,
"Sharding"). One owner per client id and per push token stays the code's rule: a token moves
under a lock per token (store.notifications), a client id of another owner is refused
(sync.client); plain indexes on ``client_id`` and ``token`` serve those look-ups.

Downgrading restores the global keys, and fails if two owners now share a client id or token.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("pk_sync_clients", "sync_clients", type_="primary")
    op.create_primary_key("pk_sync_clients", "sync_clients", ["owner_id", "client_id"])
    op.drop_index("ix_sync_clients_owner_id", table_name="sync_clients")
    op.create_index("ix_sync_clients_client_id", "sync_clients", ["client_id"])

    op.drop_constraint("pk_sync_rejections", "sync_rejections", type_="primary")
    op.create_primary_key(
        "pk_sync_rejections", "sync_rejections", ["owner_id", "client_id", "mutation_id"]
    )
    op.drop_index("ix_sync_rejections_owner_id", table_name="sync_rejections")

    op.drop_constraint("uq_devices_token", "devices", type_="unique")
    op.create_unique_constraint("uq_devices_owner_id_token", "devices", ["owner_id", "token"])
    op.create_index("ix_devices_token", "devices", ["token"])


def downgrade() -> None:
    op.drop_index("ix_devices_token", table_name="devices")
    op.drop_constraint("uq_devices_owner_id_token", "devices", type_="unique")
    op.create_unique_constraint("uq_devices_token", "devices", ["token"])

    op.create_index("ix_sync_rejections_owner_id", "sync_rejections", ["owner_id"])
    op.drop_constraint("pk_sync_rejections", "sync_rejections", type_="primary")
    op.create_primary_key("pk_sync_rejections", "sync_rejections", ["client_id", "mutation_id"])

    op.drop_index("ix_sync_clients_client_id", table_name="sync_clients")
    op.create_index("ix_sync_clients_owner_id", "sync_clients", ["owner_id"])
    op.drop_constraint("pk_sync_clients", "sync_clients", type_="primary")
    op.create_primary_key("pk_sync_clients", "sync_clients", ["client_id"])
