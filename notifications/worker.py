"""The worker: claims due pushes, sends them to every active device, records what happened.

Claiming sets a row to SENDING with a lease (``FOR UPDATE SKIP LOCKED``, so workers never
claim the same row) and commits before anything is sent. The lease is short and renewed while
the batch is out (``notifications/lease.py``); if the worker dies, the lease runs out and
another worker sends that batch again; the collapse key makes the phone show the second copy
in place of the first. Outcomes are recorded per device: a dead token disables
the device, a transient error puts the row back with an exponential back-off (at least what
FCM's Retry-After asked), up to a cap, after which the row is FAILED; nothing is dropped
silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import socket
import traceback
from collections import defaultdict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from model.clock import Clock, local_today
from notifications import planner
from notifications.lease import keep_lease
from notifications.sender import (
    MAX_DETAIL_CHARS,
    Outcome,
    Push,
    Sender,
    SendResult,
    hide_tokens,
)
from store import tables

log = logging.getLogger("rapport.notifications.worker")

_s = tables.scheduled_notifications
_d = tables.notification_deliveries
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

# Retry-After is obeyed up to this many seconds (30 days): every push is missed by then.
_LONGEST_RETRY_AFTER = 30 * 86_400.0

# Final for a device: it got the push, or never will.
_FINAL = (Outcome.DELIVERED.value, Outcome.DEAD_TOKEN.value, Outcome.FAILED.value)


@dataclass(frozen=True)
class _Unit:
    """One push to an owner's devices: a single notification, or a digest of the day's."""

    owner_id: UUID
    rows: list[Any]
    title: str
    body: str
    data: dict[str, str]
    collapse_key: str


@dataclass(frozen=True)
class _Context:
    """What a batch's sending needs besides its rows, read in one go."""

    owners: dict[UUID, Any]
    devices: dict[UUID, list[Any]]
    # (notification, device) pairs with a final outcome from an earlier attempt...
    done: set[tuple[UUID, UUID]]
    # ... and the notifications that reached at least one device then.
    delivered: set[UUID]


@dataclass
class Worker:
    engine: AsyncEngine
    sender: Sender
    clock: Clock
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    batch_size: int = 500
    # Short, because it is renewed while the batch is out (notifications/lease.py): a dead
    # worker's batch is sent by another this long after its last renewal.
    lease: timedelta = timedelta(seconds=30)
    max_attempts: int = 6
    first_backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(hours=1)
    ttl: timedelta = timedelta(hours=12)
    plan: bool = True
    # Batches being claimed, sent or recorded at once by run() and deliver_backlog().
    batches_in_flight: int = 2
    # Spreads retries of pushes that failed together; not for secrets.
    jitter: random.Random = field(default_factory=random.Random)

    async def run(self, stop: asyncio.Event, idle_seconds: float = 2.0) -> None:
        """Plan and deliver until ``stop`` is set; the batches in hand are always finished."""
        log.info("notifications worker %s started", self.name)
        lanes: list[Coroutine[Any, Any, object]] = [
            self._deliver_lane(stop, idle_seconds) for _ in range(self.batches_in_flight)
        ]
        if self.plan:
            lanes.append(self._plan_lane(stop, idle_seconds))
        await asyncio.gather(*lanes)
        log.info("notifications worker %s stopped", self.name)

    async def run_once(self) -> bool:
        """One pass: plan owners that need it, then deliver one batch; say if there was work."""
        planned = await planner.plan_due(self.engine, self.clock.now()) if self.plan else 0
        delivered = await self.deliver_due()
        return bool(planned or delivered)

    async def deliver_backlog(self) -> int:
        """Deliver until nothing is due, ``batches_in_flight`` at a time; return rows handled."""
        return sum(
            await asyncio.gather(
                *(self._deliver_lane(None, None) for _ in range(self.batches_in_flight))
            )
        )

    async def _deliver_lane(self, stop: asyncio.Event | None, idle_seconds: float | None) -> int:
        # Each lane claims, sends and records batches on its own, so one lane's database work
        # overlaps another's sending. Without idle_seconds the lane ends when nothing is due.
        handled = 0
        while stop is None or not stop.is_set():
            if idle_seconds is None:
                delivered = await self.deliver_due()
                if not delivered:
                    break
            else:
                try:
                    delivered = await self.deliver_due()
                except Exception:  # a bad batch must not kill the worker; say so and go on
                    log.exception("notifications delivery failed; retrying shortly")
                    delivered = 0
                if not delivered:
                    await _wait(stop, idle_seconds)
            handled += delivered
        return handled

    async def _plan_lane(self, stop: asyncio.Event, idle_seconds: float) -> None:
        sweep_at: datetime | None = None
        while not stop.is_set():
            try:
                now = self.clock.now()
                if sweep_at is None or now >= sweep_at:
                    # Sign-up gives each user a planner row; an owner made any other way (an
                    # API process of an older release during a rolling deploy) gets one here.
                    await planner.add_missing_owners(self.engine)
                    sweep_at = now + planner.REPLAN_AFTER
                planned = await planner.plan_due(self.engine, now)
            except Exception:  # a bad pass must not kill the worker; say so and go on
                log.exception("notifications planning pass failed; retrying shortly")
                planned = 0
            if not planned:
                await _wait(stop, idle_seconds)

    async def deliver_due(self) -> int:
        """Claim, send and record one batch of due pushes; return how many rows it handled."""
        now = self.clock.now()
        async with self.engine.begin() as conn:
            taken = await self._claim(conn, now)
        claimed = [row for row in taken if row.status == "SENDING"]
        if len(claimed) < len(taken):
            log.warning(
                "gave up on %d pushes that workers took %d times without finishing",
                len(taken) - len(claimed),
                self.max_attempts,
            )
        if not claimed:
            return len(taken)
        # Renewed until the outcomes are about to be written: however long FCM takes, no
        # other worker takes the batch from a live one. The record step renews nothing: its
        # row locks must not meet a renewal's.
        async with keep_lease(
            self.engine, claimed, worker=self.name, lease=self.lease, clock=self.clock
        ):
            async with self.engine.connect() as conn:
                context = await self._load_context(conn, claimed)
            missed, units, no_device = self._compose(claimed, context, now)
            pushes: list[tuple[_Unit, Any, Push]] = []
            for unit in units:
                for device in context.devices.get(unit.owner_id, []):
                    if all((row.id, device.id) in context.done for row in unit.rows):
                        continue
                    pushes.append((unit, device, self._push(unit, device)))
            results = await self._send([push for _, _, push in pushes])
        async with self.engine.begin() as conn:
            await self._record(conn, now, claimed, missed, no_device, pushes, results, context)
        return len(taken)

    async def _claim(self, conn: AsyncConnection, now: datetime) -> list[Any]:
        # A worker that died mid-batch: its lease ran out, the rows are due again. Those come
        # first; then pending rows, oldest due first. Two statements, because each condition
        # then walks its own partial index in order and stops at the batch's size, where one
        # OR-ed query gathered and sorted the whole backlog on every claim.
        claimed = await self._claim_where(
            conn,
            now,
            _s.c.status == "SENDING",
            _s.c.lease_until < now,
            _s.c.lease_until,
            give_up=True,
        )
        if len(claimed) < self.batch_size:
            claimed += await self._claim_where(
                conn,
                now,
                _s.c.status == "PENDING",
                _s.c.due_at <= now,
                _s.c.due_at,
                limit=self.batch_size - len(claimed),
            )
        return claimed

    async def _claim_where(
        self,
        conn: AsyncConnection,
        now: datetime,
        status: sa.ColumnElement[bool],
        due: sa.ColumnElement[bool],
        order: sa.ColumnElement[Any],
        limit: int | None = None,
        give_up: bool = False,
    ) -> list[Any]:
        """Claim rows; with ``give_up``, settle FAILED those taken too often instead."""
        picked = (
            sa.select(_s.c.owner_id, _s.c.id)
            .where(status, due)
            .order_by(order)
            .limit(limit or self.batch_size)
            .with_for_update(skip_locked=True)
            .cte("picked")
        )
        values: dict[str, Any] = {
            "status": "SENDING",
            "lease_until": now + self.lease,
            "leased_by": self.name,
            "attempts": _s.c.attempts + 1,
            "updated_at": now,
        }
        if give_up:
            # A batch whose every taker died (a push that crashes the worker, a host that keeps
            # going down) would otherwise be sent again each time its lease ran out, for ever.
            exhausted = _s.c.attempts >= self.max_attempts
            gave_up = sa.func.format("a worker took it %s times without finishing", _s.c.attempts)
            values |= {
                # One that a device got already is SENT, as _settle would have said.
                "status": sa.case(
                    (exhausted & _s.c.sent_at.is_not(None), "SENT"),
                    (exhausted, "FAILED"),
                    else_="SENDING",
                ),
                "lease_until": sa.case((exhausted, sa.null()), else_=values["lease_until"]),
                "leased_by": sa.case((exhausted, sa.null()), else_=self.name),
                "attempts": sa.case((exhausted, _s.c.attempts), else_=values["attempts"]),
                "last_error": sa.case((exhausted, gave_up), else_=_s.c.last_error),
            }
        claim = (
            sa.update(_s)
            .where(_s.c.owner_id == picked.c.owner_id, _s.c.id == picked.c.id)
            .values(values)
            .returning(_s)
        )
        return list((await conn.execute(claim)).all())

    async def _send(self, pushes: list[Push]) -> list[SendResult]:
        """Send ``pushes``; a sender that fails unexpectedly makes every one of them TRANSIENT."""
        if not pushes:
            return []
        try:
            results = await self.sender.send(pushes)
            if len(results) != len(pushes):
                raise RuntimeError(f"{len(results)} results for {len(pushes)} pushes")
        except Exception as exc:
            # The rows back off and end FAILED at the cap, instead of staying SENDING to be sent
            # again after every lease. Tokens may be in the message: they are cut short.
            tokens = [push.token for push in pushes]
            log.error(
                "sending %d pushes failed unexpectedly; they will be retried\n%s",
                len(pushes),
                hide_tokens("".join(traceback.format_exception(exc)), tokens),
            )
            detail = hide_tokens(f"{type(exc).__name__}: {exc}", tokens)[:MAX_DETAIL_CHARS]
            failed = SendResult(Outcome.TRANSIENT, error_code="SENDER_ERROR", detail=detail)
            return [failed] * len(pushes)
        return results

    async def _load_context(self, conn: AsyncConnection, claimed: list[Any]) -> _Context:
        # As arrays: a statement with one parameter compiles and prepares once, where an IN
        # list of up to 500 would be rendered again for every batch.
        owner_ids = sa.func.any(_uuids("owner_ids", sorted({row.owner_id for row in claimed})))
        u = tables.users.c
        owners = {
            row.id: row
            for row in await conn.execute(
                sa.select(u.id, u.time_zone, u.daily_digest).where(u.id == owner_ids)
            )
        }
        devices: dict[UUID, list[Any]] = defaultdict(list)
        query = (
            sa.select(_devices)
            .where(_devices.c.owner_id == owner_ids, _devices.c.active.is_(True))
            .order_by(_devices.c.owner_id, _devices.c.id)
        )
        for row in await conn.execute(query):
            devices[row.owner_id].append(row)
        # Devices that already have a final outcome for a row from an earlier attempt.
        ids = sa.func.any(_uuids("ids", [row.id for row in claimed]))
        query = sa.select(_d.c.notification_id, _d.c.device_id, _d.c.outcome).where(
            _d.c.owner_id == owner_ids, _d.c.notification_id == ids, _d.c.outcome.in_(_FINAL)
        )
        done: set[tuple[UUID, UUID]] = set()
        delivered: set[UUID] = set()
        for row in await conn.execute(query):
            done.add((row.notification_id, row.device_id))
            if row.outcome == Outcome.DELIVERED.value:
                delivered.add(row.notification_id)
        return _Context(owners, devices, done, delivered)

    def _compose(
        self, claimed: list[Any], context: _Context, now: datetime
    ) -> tuple[list[Any], list[_Unit], list[Any]]:
        by_owner: dict[UUID, list[Any]] = defaultdict(list)
        for row in claimed:
            by_owner[row.owner_id].append(row)
        missed: list[Any] = []
        no_device: list[Any] = []
        units: list[_Unit] = []
        for owner_id, rows in by_owner.items():
            owner = context.owners.get(owner_id)
            if owner is None:
                continue  # the account is gone; its rows went with it
            today = local_today(now, owner.time_zone)
            # Missed while no worker ran: still worth sending the same local day, not later.
            live = [row for row in rows if row.local_date >= today]
            missed += [row for row in rows if row.local_date < today]
            if not context.devices.get(owner_id):
                no_device += live
                continue
            if owner.daily_digest and len(live) > 1:
                units.append(_digest(owner_id, live, today))
            else:
                units += [_single(row) for row in live]
        return missed, units, no_device

    def _push(self, unit: _Unit, device: Any) -> Push:
        return Push(
            token=device.token,
            platform=device.platform,
            title=unit.title,
            body=unit.body,
            data=unit.data,
            collapse_key=unit.collapse_key,
            ttl_seconds=int(self.ttl.total_seconds()),
        )

    def backoff(self, attempts: int, retry_after: float | None) -> timedelta:
        """Say how long to wait after ``attempts`` tries.

        Doubling from ``first_backoff`` with ±20 % jitter, at most ``max_backoff``; never less
        than FCM's Retry-After, however long: the cap bounds our own growth only.
        """
        # In seconds, with the exponent bounded: a timedelta would overflow first.
        cap = self.max_backoff.total_seconds()
        grown = min(self.first_backoff.total_seconds() * 2.0 ** min(max(attempts - 1, 0), 64), cap)
        # Jitter after the cap too, so that retries waiting the longest still spread out.
        wait = min(grown * self.jitter.uniform(0.8, 1.2), cap)
        # An absurd Retry-After must not crash the batch; a retry past it finds the day gone.
        asked = min(retry_after or 0.0, _LONGEST_RETRY_AFTER)
        return timedelta(seconds=max(wait, asked))

    async def _record(
        self,
        conn: AsyncConnection,
        now: datetime,
        claimed: list[Any],
        missed: list[Any],
        no_device: list[Any],
        pushes: Sequence[tuple[_Unit, Any, Push]],
        results: Sequence[SendResult],
        context: _Context,
    ) -> None:
        deliveries: list[tuple[UUID, UUID, Any, SendResult]] = []
        outcomes: dict[UUID, list[tuple[Any, SendResult]]] = defaultdict(list)
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
            await conn.execute(
                _DELIVERIES,
                {
                    "now": now,
                    "owners": [owner for owner, _, _, _ in deliveries],
                    "notifications": [notification for _, notification, _, _ in deliveries],
                    # The device may be gone by now (unregistered, its token moved): the
                    # record keeps what it was sent to.
                    "devices": [device.id for _, _, device, _ in deliveries],
                    "platforms": [device.platform for _, _, device, _ in deliveries],
                    "outcomes": [r.outcome.value for _, _, _, r in deliveries],
                    "message_ids": [r.message_id for _, _, _, r in deliveries],
                    "error_codes": [r.error_code for _, _, _, r in deliveries],
                    "details": [r.detail for _, _, _, r in deliveries],
                },
            )
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
        missed_ids = {row.id for row in missed}
        no_device_ids = {row.id for row in no_device}
        changes: list[dict[str, Any]] = []
        for row in claimed:
            # A row some device already got is SENT, whatever stopped the others getting it.
            delivered_before = row.id in context.delivered
            if row.id in missed_ids and not delivered_before:
                change = {
                    "status": "MISSED",
                    "last_error": "its local day passed before it was sent",
                }
            elif row.id in no_device_ids and not delivered_before:
                change = {"status": "NO_DEVICE", "last_error": "no active device to send to"}
            else:
                change = self._settle(row, now, outcomes.get(row.id, []), delivered_before)
            changes.append(change)
        await conn.execute(
            _SETTLE,
            {
                "now": now,
                "worker": self.name,
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

    def _settle(
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
                "due_at": now + self.backoff(row.attempts, retry_after),
                "sent_at": sent_at,
                "last_error": _describe_missing(transient),
            }
        if delivered:
            # A push a phone showed is SENT, even if another device never got it; with nothing
            # tried now, the last attempt's error still says which.
            error = _describe_missing(transient) if transient else None
            return {
                "status": "SENT",
                "sent_at": now,
                "last_error": error if tried else row.last_error,
            }
        if transient:
            return {"status": "FAILED", "last_error": _describe_missing(transient)}
        if tried:
            return {"status": "FAILED", "last_error": _describe(tried[0][1])}
        # Each device had its final answer in an earlier attempt, and none was a delivery.
        return {"status": "FAILED", "last_error": row.last_error or "no device will get it"}


def _uuids(name: str, values: list[UUID]) -> sa.BindParameter[Any]:
    return sa.bindparam(name, values, type_=ARRAY(PG_UUID(as_uuid=True)))


async def _wait(stop: asyncio.Event | None, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _describe(result: SendResult) -> str:
    return f"{result.error_code or result.outcome.value}: {result.detail or ''}".strip(": ")


# Devices named in a row's last_error; a user with more gets a count of the rest.
_NAMED_DEVICES = 3


def _describe_missing(transient: list[tuple[Any, SendResult]]) -> str:
    """Name the devices that did not get the push (yet), and why the first did not."""
    names = [f"{device.platform} device {device.id}" for device, _ in transient[:_NAMED_DEVICES]]
    if len(transient) > _NAMED_DEVICES:
        names.append(f"{len(transient) - _NAMED_DEVICES} more")
    return f"not delivered to {', '.join(names)}: {_describe(transient[0][1])}"


def collapse_key(row: Any) -> str:
    return f"{row.kind}:{row.subject_id}:{row.occurrence.isoformat()}:{row.lead_days}"


def _single(row: Any) -> _Unit:
    data = {**row.data, "notificationId": str(row.id)}
    return _Unit(row.owner_id, [row], row.title, row.body, data, collapse_key(row))


def _digest(owner_id: UUID, rows: list[Any], today: Any) -> _Unit:
    rows = sorted(rows, key=lambda r: (r.send_at, r.title))
    titles = [row.title for row in rows]
    body = " · ".join(titles[:5]) + (f" · and {len(titles) - 5} more" if len(titles) > 5 else "")
    data = {
        "kind": "DIGEST",
        "date": today.isoformat(),
        "notificationIds": ",".join(str(row.id) for row in rows[:MAX_DIGEST_IDS]),
        "notificationCount": str(len(rows)),
    }
    title = f"Today: {len(rows)} things"
    return _Unit(owner_id, rows, title, body, data, digest_collapse_key(rows))


# 37 bytes an id: twenty keep a digest's data near 750 bytes, well inside FCM's 4 KB payload
# (the whole digest is in ``notifications`` anyway).
MAX_DIGEST_IDS = 20


def digest_collapse_key(rows: list[Any]) -> str:
    """Name a digest by what it lists.

    A digest sent again after a crash lists the same rows and replaces the first copy on the
    phone; a later digest the same day lists others and stands beside it.
    """
    ids = ",".join(sorted(str(row.id) for row in rows))
    return f"digest:{hashlib.sha256(ids.encode()).hexdigest()[:32]}"
