"""Delivery through the real FCM client to a local fake FCM: outcomes per device,
dead tokens, back-off with Retry-After, the retry cap, the payload, and a worker killed
mid-batch (a real process, SIGKILL)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock, SystemClock
from notifications import planner
from notifications.digest import collapse_key
from notifications.fcm_sender import FcmSender
from notifications.worker import Worker
from store import notifications, tables
from tests.fake_fcm import HANG, PROJECT, FakeFcm, Reply, fake_fcm_fixture, fcm_error
from tests.integration.notify_support import (
    add_device,
    deliveries,
    make_user,
    put_reminder,
    scheduled,
)

__all__ = ["fake_fcm_fixture"]  # the fake_fcm fixture, used below

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
async def sender(fake_fcm: FakeFcm) -> AsyncIterator[FcmSender]:
    fcm = FcmSender(
        project_id=PROJECT,
        credentials_file=str(fake_fcm.credentials_file),
        fcm_url=fake_fcm.fcm_url,
        timeout_seconds=2.0,
    )
    yield fcm
    await fcm.close()


async def one_due_push(engine: AsyncEngine, *tokens: str) -> tuple[UUID, list[UUID]]:
    owner = await make_user(engine, NOW, time_zone="UTC")
    devices = [await add_device(engine, owner, NOW, token) for token in tokens]
    await put_reminder(engine, owner, NOW, title="Call Ada", dueOn="2026-11-23", dueTime="11:00")
    await planner.plan_owners(engine, [owner], NOW)
    return owner, devices


async def device_rows(engine: AsyncEngine, owner: UUID) -> dict[str, sa.RowMapping]:
    d = tables.devices.c
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(tables.devices).where(d.owner_id == owner))).mappings()
        return {row["token"]: row for row in rows}


@pytest.mark.parametrize(
    "reply",
    [
        fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"),
        fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"),
        fcm_error(
            400,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
            "INVALID_ARGUMENT",
        ),
    ],
)
async def test_a_dead_token_disables_its_device_and_the_others_still_get_the_push(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender, reply: Reply
) -> None:
    owner, _ = await one_due_push(engine, "dead-token", "good-token")
    fake_fcm.script["dead-token"] = reply
    worker = Worker(engine=engine, sender=sender, clock=FixedClock(NOW), plan=False)
    assert await worker.deliver_due() == 1
    devices = await device_rows(engine, owner)
    assert devices["dead-token"]["active"] is False
    assert devices["dead-token"]["disabled_reason"] in {
        "UNREGISTERED",
        "SENDER_ID_MISMATCH",
        "INVALID_ARGUMENT",
    }
    assert devices["good-token"]["active"] is True
    (row,) = await scheduled(engine, owner)
    assert row["status"] == "SENT"
    outcomes = sorted(d["outcome"] for d in await deliveries(engine, owner))
    assert outcomes == ["DEAD_TOKEN", "DELIVERED"]


async def test_a_transient_error_is_retried_after_retry_after_and_only_where_it_failed(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    owner, _ = await one_due_push(engine, "busy-token", "fine-token")
    fake_fcm.script["busy-token"] = fcm_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded",
        "QUOTA_EXCEEDED",
        headers={"Retry-After": "120"},
    )
    worker = Worker(engine=engine, sender=sender, clock=FixedClock(NOW), plan=False)
    assert await worker.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["attempts"]) == ("PENDING", 1)
    assert row["due_at"] >= NOW + timedelta(seconds=120)
    assert "QUOTA_EXCEEDED" in row["last_error"]
    # Not due again before the back-off ends.
    assert await worker.deliver_due() == 0
    fake_fcm.script.pop("busy-token")
    later = Worker(engine=engine, sender=sender, clock=FixedClock(row["due_at"]), plan=False)
    assert await later.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert row["status"] == "SENT"
    # The device that had it already was not sent it again.
    assert len(fake_fcm.sent_to("fine-token")) == 1
    assert len(fake_fcm.sent_to("busy-token")) == 2


async def test_a_retry_after_longer_than_the_back_off_cap_is_obeyed(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    owner, _ = await one_due_push(engine, "slow-down-token")
    fake_fcm.script["slow-down-token"] = fcm_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded",
        "QUOTA_EXCEEDED",
        headers={"Retry-After": "7200"},
    )
    worker = Worker(engine=engine, sender=sender, clock=FixedClock(NOW), plan=False)
    assert worker.max_backoff == timedelta(hours=1)
    assert await worker.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["due_at"]) == ("PENDING", NOW + timedelta(hours=2))
    just_before = Worker(
        engine=engine,
        sender=sender,
        clock=FixedClock(NOW + timedelta(hours=2) - timedelta(seconds=1)),
        plan=False,
    )
    assert await just_before.deliver_due() == 0


async def test_a_re_plan_leaves_a_push_in_back_off_to_the_worker(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    owner, _ = await one_due_push(engine, "backoff-token")
    fake_fcm.script["backoff-token"] = fcm_error(503, "UNAVAILABLE", "Try later", "UNAVAILABLE")
    worker = Worker(engine=engine, sender=sender, clock=FixedClock(NOW), plan=False)
    assert await worker.deliver_due() == 1
    (backing_off,) = await scheduled(engine, owner)
    assert backing_off["due_at"] > NOW
    # An hourly re-plan finds the same push: its back-off stands, nothing is rewritten.
    await planner.plan_owners(engine, [owner], NOW + timedelta(minutes=1))
    (row,) = await scheduled(engine, owner)
    assert (row["due_at"], row["updated_at"]) == (backing_off["due_at"], backing_off["updated_at"])
    assert await worker.deliver_due() == 0
    # Even a new time leaves it be: a row the worker has tried is the worker's (it may have
    # reached some devices), and its retry waits out the back-off FCM asked for.
    await put_reminder(engine, owner, NOW, row["subject_id"], dueTime="11:30")
    await planner.plan_owners(engine, [owner], NOW)
    (row,) = await scheduled(engine, owner)
    assert (row["due_at"], row["send_at"]) == (backing_off["due_at"], backing_off["send_at"])


async def test_transient_errors_stop_at_the_cap_and_the_row_says_failed(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    owner, _ = await one_due_push(engine, "down-token")
    fake_fcm.script["down-token"] = fcm_error(503, "UNAVAILABLE", "Try later", "UNAVAILABLE")
    clock = FixedClock(NOW)
    worker = Worker(engine=engine, sender=sender, clock=clock, plan=False, max_attempts=3)
    for _ in range(3):
        assert await worker.deliver_due() == 1
        clock.at = (await scheduled(engine, owner))[0]["due_at"]
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["attempts"]) == ("FAILED", 3)
    assert "UNAVAILABLE" in row["last_error"]
    assert [d["outcome"] for d in await deliveries(engine, owner)] == ["TRANSIENT"] * 3


@pytest.mark.parametrize("phone_fails", [0, 2], ids=["earlier attempt", "last attempt"])
async def test_a_push_that_reached_one_device_ends_sent_though_another_never_got_it(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender, phone_fails: int
) -> None:
    owner, (_, tablet) = await one_due_push(engine, "phone-token", "tablet-token")
    unavailable = fcm_error(503, "UNAVAILABLE", "Try later", "UNAVAILABLE")
    fake_fcm.script["tablet-token"] = unavailable
    clock = FixedClock(NOW)
    worker = Worker(engine=engine, sender=sender, clock=clock, plan=False, max_attempts=3)
    sent_at = None
    for attempt in range(3):
        if attempt < phone_fails:
            fake_fcm.script["phone-token"] = unavailable
        else:
            fake_fcm.script.pop("phone-token", None)
            sent_at = sent_at or clock.at
        assert await worker.deliver_due() == 1
        clock.at = (await scheduled(engine, owner))[0]["due_at"]
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("SENT", 3, sent_at)
    assert str(tablet) in row["last_error"]  # says which device never got it
    assert "UNAVAILABLE" in row["last_error"]
    assert len(fake_fcm.sent_to("phone-token")) == phone_fails + 1  # never twice once it arrived
    assert len(fake_fcm.sent_to("tablet-token")) == 3


async def test_a_push_waiting_out_a_back_off_is_in_the_history(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    owner, _ = await one_due_push(engine, "phone-token", "tablet-token")
    fake_fcm.script["tablet-token"] = fcm_error(503, "UNAVAILABLE", "Try later", "UNAVAILABLE")
    # Planned but never tried: the agenda's business, not history.
    async with engine.connect() as conn:
        assert await notifications.count_notifications(conn, owner_id=owner) == 0
    worker = Worker(engine=engine, sender=sender, clock=FixedClock(NOW), plan=False)
    assert await worker.deliver_due() == 1
    async with engine.connect() as conn:
        (row,) = await notifications.list_notifications(conn, owner_id=owner, after=None, limit=5)
        assert await notifications.count_notifications(conn, owner_id=owner) == 1
    # Tried, reached the phone (so it has its sentAt), and waits to retry the tablet.
    assert (row["status"], row["attempts"], row["sent_at"]) == ("PENDING", 1, NOW)


@pytest.mark.parametrize("plans", ["force_custom_plan", "force_generic_plan"])
async def test_the_history_query_walks_its_index(engine: AsyncEngine, plans: str) -> None:
    # asyncpg runs every query as a prepared statement, whose plan PostgreSQL may make generic
    # (blind to parameter values): the index must serve that plan as well.
    owner = await make_user(engine, NOW, time_zone="UTC")
    compiled = notifications.select_history(owner, None, 21).compile(dialect=engine.dialect)
    values = ", ".join(repr(str(compiled.params[name])) for name in compiled.positiontup or [])
    async with engine.connect() as conn:
        await conn.exec_driver_sql(f"SET plan_cache_mode = {plans}")
        await conn.exec_driver_sql("SET enable_seqscan = off")
        await conn.exec_driver_sql(f"PREPARE history AS {compiled}")
        explained = await conn.exec_driver_sql(f"EXPLAIN EXECUTE history({values})")
        plan = "\n".join(line for (line,) in explained)
    assert "ix_scheduled_notifications_history" in plan, plan
    assert "Sort" not in plan, plan


async def test_the_message_carries_its_unique_key_as_collapse_key_and_a_ttl(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    owner, _ = await one_due_push(engine, "payload-token")
    worker = Worker(engine=engine, sender=sender, clock=FixedClock(NOW), plan=False)
    assert await worker.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    (sent,) = fake_fcm.sent_to("payload-token")
    message = sent.message
    assert message["android"]["collapse_key"] == collapse_key(row)
    assert message["apns"]["headers"]["apns-collapse-id"] == collapse_key(row)
    assert message["android"]["ttl"] == "43200s"
    assert message["data"]["notificationId"] == str(row["id"])
    assert message["data"]["kind"] == "REMINDER"
    assert message["notification"]["title"] == "Call Ada"


async def rows_of(engine: AsyncEngine, owners: list[UUID]) -> list[sa.RowMapping]:
    return [row for owner in owners for row in await scheduled(engine, owner)]


# A lease short enough for a test to wait out; renewed every third of it.
LEASE = timedelta(seconds=2)


async def test_a_live_worker_keeps_a_batch_that_takes_longer_than_its_lease(
    engine: AsyncEngine, fake_fcm: FakeFcm
) -> None:
    now = datetime.now(UTC)
    owner = await make_user(engine, now, time_zone="UTC")
    await add_device(engine, owner, now, "slow-token")
    await put_reminder(
        engine, owner, now, title="Call Ada", dueOn=now.date().isoformat(), dueTime=time(0)
    )
    await planner.plan_owners(engine, [owner], now)
    # FCM takes three leases to answer.
    fake_fcm.script["slow-token"] = Reply(delay=LEASE.total_seconds() * 3)
    slow_fcm = FcmSender(
        project_id=PROJECT,
        credentials_file=str(fake_fcm.credentials_file),
        fcm_url=fake_fcm.fcm_url,
        timeout_seconds=60.0,
    )
    try:
        first, second = (
            Worker(
                engine=engine,
                sender=slow_fcm,
                clock=SystemClock(),
                plan=False,
                name=name,
                lease=LEASE,
            )
            for name in ("first", "second")
        )
        sending = asyncio.create_task(first.deliver_due())
        taken_by_second = 0
        async with asyncio.timeout(60):
            while not fake_fcm.sent_to("slow-token"):  # noqa: ASYNC110 (the first is sending)
                await asyncio.sleep(0.02)
            # The second worker polls all the while the first waits for FCM.
            while not sending.done():
                taken_by_second += await second.deliver_due()
                await asyncio.sleep(0.05)
        assert await sending == 1
    finally:
        await slow_fcm.close()
    assert taken_by_second == 0
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["attempts"], row["leased_by"]) == ("SENT", 1, None)
    assert len(fake_fcm.sent_to("slow-token")) == 1
    assert len(await deliveries(engine, owner)) == 1


async def test_a_worker_killed_mid_batch_loses_nothing_and_resends_only_that_batch(
    engine: AsyncEngine, db_url: str, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    now = datetime.now(UTC)
    today = now.date().isoformat()
    owners = []
    for n in range(12):
        owner = await make_user(engine, now, time_zone="UTC")
        await add_device(engine, owner, now, f"kill-{n}")
        for k in range(5):
            await put_reminder(engine, owner, now, title=f"R{k}", dueOn=today, dueTime=time(0))
        owners.append(owner)
    await planner.plan_owners(engine, owners, now)
    for n in range(12):
        fake_fcm.script[f"kill-{n}"] = HANG  # the worker will be stuck sending its batches
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": db_url,
        "RAPPORT_FCM_CREDENTIALS_FILE": str(fake_fcm.credentials_file),
        "RAPPORT_FCM_URL": fake_fcm.fcm_url,
        "RAPPORT_FIREBASE_PROJECT_ID": PROJECT,
        "RAPPORT_WORKER_BATCH_SIZE": "20",
        "RAPPORT_WORKER_BATCHES_IN_FLIGHT": "2",
        "RAPPORT_WORKER_POLL_SECONDS": "0.2",
        "RAPPORT_WORKER_LEASE_SECONDS": str(LEASE.total_seconds()),
        "RAPPORT_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: ASYNC220, S603 - our own command, waited for below
        [str(Path(sys.executable).parent / "rapport"), "worker"], env=env
    )
    try:
        for _ in range(300):
            statuses = Counter(r["status"] for r in await rows_of(engine, owners))
            if statuses["SENDING"] == 40 and len(fake_fcm.received) >= 40:
                break
            await asyncio.sleep(0.1)
        # Two batches of 20 in hand, both stuck; the last 20 rows wait their turn.
        assert statuses == Counter({"SENDING": 40, "PENDING": 20}), statuses
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    for n in range(12):
        fake_fcm.script.pop(f"kill-{n}")
    fake_fcm.release()
    # Once the dead worker's lease has run out, another takes its batch and the rest: a
    # worker polling as a live one does, well before the 30 s default lease would end.
    other = Worker(engine=engine, sender=sender, clock=SystemClock(), plan=False, lease=LEASE)
    async with asyncio.timeout(LEASE.total_seconds() * 10):
        while {r["status"] for r in await rows_of(engine, owners)} != {"SENT"}:
            await other.deliver_due()
            await asyncio.sleep(0.1)
    rows = await rows_of(engine, owners)
    assert {r["status"] for r in rows} == {"SENT"}
    recorded = [d for owner in owners for d in await deliveries(engine, owner)]
    delivered = Counter(d["notification_id"] for d in recorded)
    assert set(delivered.values()) == {1}  # recorded once each: nothing applied twice
    # What reached FCM twice is the killed batches (40 requests that hung), not more.
    sent = Counter(r.message["data"]["notificationId"] for r in fake_fcm.received)
    assert sum(1 for count in sent.values() if count == 2) == 40
    assert len(sent) == 60


async def test_sigterm_lets_the_worker_finish_the_batch_in_hand(
    engine: AsyncEngine, db_url: str, fake_fcm: FakeFcm
) -> None:
    now = datetime.now(UTC)
    owner = await make_user(engine, now, time_zone="UTC")
    await add_device(engine, owner, now, "term-token")
    for k in range(3):
        await put_reminder(
            engine, owner, now, title=f"T{k}", dueOn=now.date().isoformat(), dueTime=time(0)
        )
    await planner.plan_owners(engine, [owner], now)
    fake_fcm.script["term-token"] = HANG
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": db_url,
        "RAPPORT_FCM_CREDENTIALS_FILE": str(fake_fcm.credentials_file),
        "RAPPORT_FCM_URL": fake_fcm.fcm_url,
        "RAPPORT_FIREBASE_PROJECT_ID": PROJECT,
        "RAPPORT_WORKER_POLL_SECONDS": "0.2",
        "RAPPORT_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: ASYNC220, S603 - our own command, waited for below
        [str(Path(sys.executable).parent / "rapport"), "worker"], env=env
    )
    try:
        for _ in range(300):
            if len(fake_fcm.received) == 3:
                break
            await asyncio.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        assert process.poll() is None  # still finishing its batch
        fake_fcm.release()  # FCM answers at last (with an error)
        assert await asyncio.to_thread(process.wait, 20) == 0
    finally:
        process.kill()
    rows = await scheduled(engine, owner)
    # Every row of the batch has its outcome recorded; none is left claimed.
    assert {r["status"] for r in rows} == {"PENDING"}
    assert all(r["attempts"] == 1 and r["lease_until"] is None for r in rows)
    assert len(await deliveries(engine, owner)) == 3


async def test_a_poison_answer_backs_off_and_fails_at_the_cap_instead_of_resending(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    owner, _ = await one_due_push(engine, "odd-token")
    fake_fcm.script["odd-token"] = Reply(status=200, body={"unexpected": True})
    clock = FixedClock(NOW)
    worker = Worker(engine=engine, sender=sender, clock=clock, plan=False, max_attempts=3)
    for _ in range(3):
        assert await worker.deliver_due() == 1
        (row,) = await scheduled(engine, owner)
        assert row["status"] in {"PENDING", "FAILED"}  # never left SENDING
        clock.at = max(row["due_at"], clock.at) + timedelta(minutes=6)
    assert await worker.deliver_due() == 0
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["attempts"]) == ("FAILED", 3)
    assert row["last_error"].endswith("FCM answered without a message name")
    assert len(fake_fcm.sent_to("odd-token")) == 3
