"""delivery history outlives devices; rows waiting out a back-off are history

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00

A delivery record pointed at its device with a cascading foreign key. A device removed while
a batch was being sent to it (``unregisterDevice``, or its token moving to another account)
made the worker's insert of the batch's outcomes fail: the whole record rolled back and every
row of the batch was sent again once its lease ran out. The cascade also erased a device's
history when it went. A delivery now keeps the device's id as a plain value and the platform
it was sent to, so the record never depends on the device still being there. The index on
``(owner_id, device_id)`` served only that cascade.

A row waiting out a back-off (``PENDING`` after a try) was missing from
``notifications(first, after)``, though it had been sent and may have reached a phone. The
history index, which left pending rows out (0005), now takes those with ``attempts > 0`` too;
rows never tried, which planning writes by the hundred thousand, stay out of it.

Downgrading deletes the delivery records whose device is gone, since the foreign key cannot
come back while they exist.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEVICE_FK = "fk_notification_deliveries_owner_id_device_id_devices"
DEVICE_INDEX = "ix_notification_deliveries_device"
HISTORY_INDEX = "ix_scheduled_notifications_history"
HISTORY_COLUMNS: list[str | sa.ColumnElement[object]] = [
    "owner_id",
    sa.literal_column("send_at DESC"),
    sa.literal_column("id DESC"),
]


def replace_history_index(predicate: str) -> None:
    op.drop_index(HISTORY_INDEX, table_name="scheduled_notifications")
    op.create_index(
        HISTORY_INDEX,
        "scheduled_notifications",
        HISTORY_COLUMNS,
        postgresql_where=sa.text(predicate),
    )


def upgrade() -> None:
    op.drop_constraint(DEVICE_FK, "notification_deliveries", type_="foreignkey")
    op.drop_index(DEVICE_INDEX, table_name="notification_deliveries")
    op.add_column("notification_deliveries", sa.Column("platform", sa.Text, nullable=True))
    # The foreign key guaranteed every record a device until now, so each gets its platform.
    op.execute(
        """
        UPDATE notification_deliveries AS d SET platform = v.platform
        FROM devices AS v WHERE (v.owner_id, v.id) = (d.owner_id, d.device_id)
        """
    )
    op.alter_column("notification_deliveries", "platform", nullable=False)
    replace_history_index("status <> 'PENDING' OR attempts > 0")


def downgrade() -> None:
    replace_history_index("status <> 'PENDING'")
    op.execute(
        """
        DELETE FROM notification_deliveries AS d
        WHERE NOT EXISTS (
            SELECT FROM devices AS v WHERE (v.owner_id, v.id) = (d.owner_id, d.device_id))
        """
    )
    op.drop_column("notification_deliveries", "platform")
    op.create_index(DEVICE_INDEX, "notification_deliveries", ["owner_id", "device_id"])
    op.create_foreign_key(
        DEVICE_FK,
        "notification_deliveries",
        "devices",
        ["owner_id", "device_id"],
        ["owner_id", "id"],
        ondelete="CASCADE",
    )
