"""The worker: claims due pushes, sends them to every active device, records what happened.

Its steps live beside it: ``claim`` (a batch leased to this worker, committed before anything
is sent), ``lease`` (renewed while the batch is out), ``recipients`` and ``digest`` (what to
send to whom), the sender, and ``settlement`` (outcomes recorded per device, back-off). If the
worker dies, its lease runs out and another worker sends that batch again; the collapse key
makes the phone show the second copy in place of the first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import traceback
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import Clock
from notifications import backlog, metrics, planner
from notifications.backoff import Backoff
from notifications.claim import Claim
from notifications.digest import Unit, compose, word
from notifications.lease import keep_lease
from notifications.recipients import load_recipients
from notifications.sender import MAX_DETAIL_CHARS, Outcome, Push, Sender, SendResult, hide_tokens
from notifications.settlement import Settlement
from notifications.wakeup import Wakeup, wait_for_any
from notifications.wording import language_of

log = logging.getLogger("rapport.notifications.worker")


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
    # A libpq URL to LISTEN for committed writes on (run() only); None: poll alone.
    listen_dsn: str | None = None

    async def run(self, stop: asyncio.Event, idle_seconds: float = 2.0) -> None:
        """Plan and deliver until ``stop`` is set; the batches in hand are always finished.

        With ``listen_dsn``, a committed write wakes the planning lane at once, and a pass that
        planned something wakes the delivery lanes; ``idle_seconds`` is then only the fallback
        poll (for pushes coming due, and while the LISTEN connection is down).
        """
        log.info("notifications worker %s started", self.name)
        due = asyncio.Event()
        lanes: list[Coroutine[Any, Any, object]] = [
            self._deliver_lane(stop, idle_seconds, due) for _ in range(self.batches_in_flight)
        ]
        wakeup = Wakeup(self.listen_dsn) if self.listen_dsn is not None else None
        if self.plan:
            lanes.append(self._plan_lane(stop, idle_seconds, wakeup, due))
            if wakeup is not None:
                lanes.append(wakeup.run(stop))
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

    async def _deliver_lane(
        self,
        stop: asyncio.Event | None,
        idle_seconds: float | None,
        due: asyncio.Event | None = None,
    ) -> int:
        # Each lane claims, sends and records batches on its own, so one lane's database work
        # overlaps another's sending. Without idle_seconds the lane ends when nothing is due.
        handled = 0
        while stop is None or not stop.is_set():
            if idle_seconds is None:
                delivered = await self.deliver_due()
                if not delivered:
                    break
            else:
                if due is not None:
                    # Cleared before the claim: a plan committed during it wakes the next wait.
                    due.clear()
                try:
                    delivered = await self.deliver_due()
                except Exception:  # a bad batch must not kill the worker; say so and go on
                    log.exception("notifications delivery failed; retrying shortly")
                    delivered = 0
                if not delivered:
                    await wait_for_any(stop, due, seconds=idle_seconds)
            handled += delivered
        return handled

    async def _plan_lane(
        self,
        stop: asyncio.Event,
        idle_seconds: float,
        wakeup: Wakeup | None,
        due: asyncio.Event,
    ) -> None:
        sweep_at: datetime | None = None
        caught_up = self.clock.now()  # when a pass last found nobody waiting (planner lag)
        while not stop.is_set():
            if wakeup is not None:
                # Cleared before the pass: a write committed during it wakes the next wait.
                wakeup.changed.clear()
            try:
                now = self.clock.now()
                if sweep_at is None or now >= sweep_at:
                    # Sign-up gives each user a planner row; an owner made any other way (an
                    # API process of an older release during a rolling deploy) gets one here.
                    await backlog.add_missing_owners(self.engine)
                    sweep_at = now + backlog.REPLAN_AFTER
                planned = await planner.plan_due(self.engine, now)
                caught_up = caught_up if planned else now
                metrics.PLANNER_LAG.set((now - caught_up).total_seconds())
                await metrics.measure_queue(self.engine, now)
            except Exception:  # a bad pass must not kill the worker; say so and go on
                log.exception("notifications planning pass failed; retrying shortly")
                planned = 0
            if planned:
                # Some of what was planned may be due now.
                due.set()
            else:
                await wait_for_any(stop, wakeup.changed if wakeup else None, seconds=idle_seconds)

    async def deliver_due(self) -> int:
        """Claim, send and record one batch of due pushes; return how many rows it handled."""
        now = self.clock.now()
        async with self.engine.begin() as conn:
            taken = await self.claim.take(conn, now)
        claimed = [row for row in taken if row.status == "SENDING"]
        if len(claimed) < len(taken):
            log.warning(
                "gave up on %d pushes that workers took %d times without finishing",
                len(taken) - len(claimed),
                self.max_attempts,
            )
        metrics.CLAIMED.inc(len(claimed))
        if not claimed:
            return len(taken)
        # Renewed until the outcomes are about to be written: however long FCM takes, no
        # other worker takes the batch from a live one. The record step renews nothing: its
        # row locks must not meet a renewal's.
        async with keep_lease(
            self.engine, claimed, worker=self.name, lease=self.lease, clock=self.clock
        ):
            async with self.engine.connect() as conn:
                recipients = await load_recipients(conn, claimed)
            composition = compose(claimed, recipients, now)
            pushes: list[tuple[Unit, Any, Push]] = []
            for unit in composition.units:
                # Worded once per language the owner's devices read, in that language.
                texts: dict[str, tuple[str, str]] = {}
                for device in recipients.devices.get(unit.owner_id, []):
                    if all((row.id, device.id) in recipients.done for row in unit.rows):
                        continue
                    language = language_of(device.locale)
                    if language not in texts:
                        texts[language] = word(unit, language)
                    pushes.append((unit, device, self._push(unit, device, texts[language])))
            results = await self._send([push for _, _, push in pushes])
            metrics.count_sends(results)
        async with self.engine.begin() as conn:
            await self._settlement().record(
                conn, now, claimed, composition, pushes, results, recipients
            )
        return len(taken)

    def backoff(self, attempts: int, retry_after: float | None) -> timedelta:
        """Say how long to wait after ``attempts`` tries (see ``Backoff.delay``)."""
        return self._backoff().delay(attempts, retry_after)

    @property
    def claim(self) -> Claim:
        """How this worker claims batches (its name, lease, batch size and attempts)."""
        return Claim(self.name, self.lease, self.batch_size, self.max_attempts)

    def _backoff(self) -> Backoff:
        return Backoff(self.first_backoff, self.max_backoff, self.jitter)

    def _settlement(self) -> Settlement:
        return Settlement(self.name, self.max_attempts, self._backoff())

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

    def _push(self, unit: Unit, device: Any, text: tuple[str, str]) -> Push:
        title, body = text
        return Push(
            token=device.token,
            platform=device.platform,
            title=title,
            body=body,
            data=unit.data,
            collapse_key=unit.collapse_key,
            ttl_seconds=int(self.ttl.total_seconds()),
        )
