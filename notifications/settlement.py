"""Recording a batch's outcomes: a delivery row per device, dead tokens disabled, rows settled.

A dead token disables its device; a transient error puts the row back with an exponential
back-off (at least what FCM's Retry-After asked), up to a cap, after which the row is FAILED;
nothing is dropped silently. A row some device already got is SENT.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications.backoff import Backoff
from notifications.digest import Composition, Unit
from notifications.recipients import Recipients
from notifications.sender import Outcome, Push, SendResult
from store import tables

log = logging.getLogger("rapport.notifications.worker")

_devices = tables.devices

# A batch's outcomes are written as arrays, one statement each: a fraction of the CPU that
# a row-by-row executemany costs.
_DELIVERIES = sa.text(
    """
    INSERT INTO notification_deliveries (owner_id, id, notification_id, device_id, platform,
        outcome, message_id, error_code, detail, attempted_at)
    SELECT o, gen_random_uuid(), n, d, pl, oc, m, e, dt, :now
    FROM unnest(CAST(:owners AS uuid[]), CAST(:notifications AS uuid[]),
                CAST(:devices AS uuid[]), CAST(:platforms AS text[]), CAST(:outcomes AS text[]),
                CAST(:message_ids AS text[]), CAST(:error_codes AS text[]),
                CAST(:details AS text[]))
        AS p(o, n, d, pl, oc, m, e, dt)
    """
).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True)))
_SETTLE = sa.text(
    """
    UPDATE scheduled_notifications AS s
    -- sent_at is when the first device got it, which may be an earlier attempt.
    SET status = p.st, due_at = p.due, sent_at = coalesce(s.sent_at, p.sent), last_error = p.err,
        lease_until = NULL, leased_by = NULL, updated_at = :now
    FROM unnest(CAST(:owners AS uuid[]), CAST(:ids AS uuid[]), CAST(:statuses AS text[]),
                CAST(:due_ats AS timestamptz[]), CAST(:sent_ats AS timestamptz[]),
                CAST(:errors AS text[]))
        AS p(o, i, st, due, sent, err)
    -- A worker whose lease ran out lost the row to another: leave it to that one.
    WHERE s.owner_id = p.o AND s.id = p.i AND s.leased_by = :worker AND s.status = 'SENDING'
    """
).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True)))

# Devices named in a row's last_error; a user with more gets a count of the rest.
_NAMED_DEVICES = 3


@dataclass(frozen=True)
class Settlement:
    worker: str
    max_attempts: int
    backoff: Backoff

    async def record(
        self,
        conn: AsyncConnection,
        now: datetime,
        claimed: list[Any],
        composition: Composition,
        pushes: Sequence[tuple[Unit, Any, Push]],
        results: Sequence[SendResult],
        recipients: Recipients,
    ) -> None:
        """Write what happened to each push and settle every claimed row, in ``conn``."""
        outcomes: dict[UUID, list[tuple[Any, SendResult]]] = defaultdict(list)
        deliveries: list[tuple[UUID, UUID, Any, SendResult]] = []
        dead: list[dict[str, Any]] = []
        for (unit, device, _), result in zip(pushes, results, strict=True):
            for row in unit.rows:
                outcomes[row.id].append((device, result))
                deliveries.append((row.owner_id, row.id, device, result))
            if result.outcome is Outcome.DEAD_TOKEN:
                dead.append(
                    {"d_owner": device.owner_id, "d_id": device.id, "reason": result.error_code}
                )
        if deliveries:
            await _insert_deliveries(conn, now, deliveries)
        if dead:
            await conn.execute(
                sa.update(_devices)
                .where(
                    _devices.c.owner_id == sa.bindparam("d_owner"),
                    _devices.c.id == sa.bindparam("d_id"),
                )
                .values(active=False, disabled_reason=sa.bindparam("reason"), updated_at=now),
                dead,
            )
            log.info("disabled %d devices whose tokens are dead", len(dead))
        missed_ids = {row.id for row in composition.missed}
        no_device_ids = {row.id for row in composition.no_device}
        changes: list[dict[str, Any]] = []
        for row in claimed:
            # A row some device already got is SENT, whatever stopped the others getting it.
            delivered_before = row.id in recipients.delivered
            if row.id in missed_ids and not delivered_before:
                change = {
                    "status": "MISSED",
                    "last_error": "its local day passed before it was sent",
                }
            elif row.id in no_device_ids and not delivered_before:
                change = {"status": "NO_DEVICE", "last_error": "no active device to send to"}
            else:
                change = self.settle(row, now, outcomes.get(row.id, []), delivered_before)
            changes.append(change)
        await conn.execute(
            _SETTLE,
            {
                "now": now,
                "worker": self.worker,
                "owners": [row.owner_id for row in claimed],
                "ids": [row.id for row in claimed],
                "statuses": [change["status"] for change in changes],
                "due_ats": [
                    change.get("due_at", row.due_at)
                    for row, change in zip(claimed, changes, strict=True)
                ],
                "sent_ats": [change.get("sent_at") for change in changes],
                "errors": [change.get("last_error") for change in changes],
            },
        )

    def settle(
        self,
        row: Any,
        now: datetime,
        tried: list[tuple[Any, SendResult]],
        delivered_before: bool,
    ) -> dict[str, Any]:
        """Say what becomes of a row from this attempt's outcomes per device and earlier ones."""
        delivered = delivered_before or any(r.outcome is Outcome.DELIVERED for _, r in tried)
        sent_at = now if delivered else None
        transient = [(device, r) for device, r in tried if r.outcome is Outcome.TRANSIENT]
        if transient and row.attempts < self.max_attempts:
            # Retried only where it did not arrive; it is history already (it was tried).
            retry_after = max((r.retry_after or 0.0 for _, r in transient), default=0.0) or None
            return {
                "status": "PENDING",
                "due_at": now + self.backoff.delay(row.attempts, retry_after),
                "sent_at": sent_at,
                "last_error": describe_missing(transient),
            }
        if delivered:
            # A push a phone showed is SENT, even if another device never got it; with nothing
            # tried now, the last attempt's error still says which.
            error = describe_missing(transient) if transient else None
            return {
                "status": "SENT",
                "sent_at": now,
                "last_error": error if tried else row.last_error,
            }
        if transient:
            return {"status": "FAILED", "last_error": describe_missing(transient)}
        if tried:
            return {"status": "FAILED", "last_error": describe(tried[0][1])}
        # Each device had its final answer in an earlier attempt, and none was a delivery.
        return {"status": "FAILED", "last_error": row.last_error or "no device will get it"}


async def _insert_deliveries(
    conn: AsyncConnection, now: datetime, deliveries: list[tuple[UUID, UUID, Any, SendResult]]
) -> None:
    await conn.execute(
        _DELIVERIES,
        {
            "now": now,
            "owners": [owner for owner, _, _, _ in deliveries],
            "notifications": [notification for _, notification, _, _ in deliveries],
            # The device may be gone by now (unregistered, its token moved): the record keeps
            # what it was sent to.
            "devices": [device.id for _, _, device, _ in deliveries],
            "platforms": [device.platform for _, _, device, _ in deliveries],
            "outcomes": [r.outcome.value for _, _, _, r in deliveries],
            "message_ids": [r.message_id for _, _, _, r in deliveries],
            "error_codes": [r.error_code for _, _, _, r in deliveries],
            "details": [r.detail for _, _, _, r in deliveries],
        },
    )


def describe(result: SendResult) -> str:
    return f"{result.error_code or result.outcome.value}: {result.detail or ''}".strip(": ")


def describe_missing(transient: list[tuple[Any, SendResult]]) -> str:
    """Name the devices that did not get the push (yet), and why the first did not."""
    names = [f"{device.platform} device {device.id}" for device, _ in transient[:_NAMED_DEVICES]]
    if len(transient) > _NAMED_DEVICES:
        names.append(f"{len(transient) - _NAMED_DEVICES} more")
    return f"not delivered to {', '.join(names)}: {describe(transient[0][1])}"
