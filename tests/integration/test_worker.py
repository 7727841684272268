"""The worker with the log sender: claims, digests, owners without devices, and two workers."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock
from notifications import planner
from notifications.digest import MAX_DIGEST_IDS
from notifications.sender import LogSender, Outcome, Push, SendResult
from notifications.worker import Worker
from store import accounts
from store import notifications as store
from sync.entity import new_id
from tests.integration.notify_support import (
    add_device,
    deliveries,
    make_user,
    put_reminder,
    scheduled,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def test_two_workers_at_once_never_send_the_same_row(engine: AsyncEngine) -> None:
    owners = []
    for n in range(30):
        owner = await make_user(engine, NOW, time_zone="UTC", reminder_hour=9)
        await add_device(engine, owner, NOW, f"token-{n}-{owner}")
        for k in range(10):
            await put_reminder(engine, owner, NOW, title=f"R{k}", dueOn="2026-11-23")
        owners.append(owner)
    await planner.plan_owners(engine, owners, NOW)
    senders = [LogSender(), LogSender()]
    workers = [
        Worker(engine=engine, sender=s, clock=FixedClock(NOW), batch_size=7, plan=False, name=n)
        for s, n in zip(senders, ("one", "two"), strict=True)
    ]

    async def drain(worker: Worker) -> int:
        handled = 0
        while n := await worker.deliver_due():
            handled += n
        return handled

    handled = await asyncio.gather(*(drain(w) for w in workers))
    assert sum(handled) == 300
    assert all(n > 0 for n in handled), handled  # both took part
    per_row: Counter[object] = Counter()
    for owner in owners:
        per_row.update(d["notification_id"] for d in await deliveries(engine, owner))
        assert {r["status"] for r in await scheduled(engine, owner)} == {"SENT"}
    assert len(per_row) == 300
    assert set(per_row.values()) == {1}


async def test_a_digest_owner_gets_one_push_listing_the_day(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC", daily_digest=True)
    await add_device(engine, owner, NOW, f"digest-{owner}")
    for title in ("Call Ada", "Send the deck", "Book flights"):
        await put_reminder(engine, owner, NOW, title=title, dueOn="2026-11-23")
    await planner.plan_owners(engine, [owner], NOW)
    sender = LogSender()
    worker = Worker(engine=engine, sender=sender, clock=FixedClock(NOW), plan=False)
    assert await worker.deliver_due() == 3
    rows = await scheduled(engine, owner)
    assert {r["status"] for r in rows} == {"SENT"}
    sent = await deliveries(engine, owner)
    assert len(sent) == 3  # one delivery record per notification, from the one push
    assert len({d["message_id"] for d in sent}) == 1  # the one push's id


async def test_an_owner_without_devices_is_told_not_dropped(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    await put_reminder(engine, owner, NOW, title="Nobody hears", dueOn="2026-11-23")
    await planner.plan_owners(engine, [owner], NOW)
    worker = Worker(engine=engine, sender=LogSender(), clock=FixedClock(NOW), plan=False)
    assert await worker.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["last_error"]) == ("NO_DEVICE", "no active device to send to")


async def test_a_worker_pass_plans_new_owners_then_sends_what_is_due(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    await add_device(engine, owner, NOW, f"pass-{owner}")
    await put_reminder(engine, owner, NOW, title="Now", dueOn="2026-11-23", dueTime="11:00")
    await put_reminder(engine, owner, NOW, title="Later", dueOn="2026-11-23", dueTime="15:00")
    worker = Worker(engine=engine, sender=LogSender(), clock=FixedClock(NOW))
    assert await worker.run_once() is True
    status = {r["title"]: r["status"] for r in await scheduled(engine, owner)}
    assert status == {"Now": "SENT", "Later": "PENDING"}
    # Nothing changed: the next pass plans no one and sends nothing.
    assert await worker.run_once() is False
    # The user moves to another zone: the pending push is re-timed, the sent one kept.
    async with engine.begin() as conn:
        await accounts.update_user(
            conn, user_id=owner, now=NOW, values={"time_zone": "Asia/Kolkata"}
        )
    assert await worker.run_once() is True
    rows = {r["title"]: r for r in await scheduled(engine, owner)}
    assert rows["Now"]["send_at"] == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    # 15:00 in Kolkata is 09:30 UTC, already past but the same local day: sent at once.
    assert rows["Later"]["send_at"] == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert (rows["Later"]["status"], rows["Later"]["sent_at"]) == ("SENT", NOW)


class RemovingSender(LogSender):
    """Sends, but the first time a device of the owner is removed while the pushes are out."""

    def __init__(self, remove: Callable[[], Awaitable[object]]) -> None:
        super().__init__()
        self.remove: Callable[[], Awaitable[object]] | None = remove
        self.sent: list[Push] = []

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        if self.remove is not None:
            remove, self.remove = self.remove, None
            await remove()
        self.sent += pushes
        return await super().send(pushes)


@pytest.mark.parametrize("how", ["unregistered", "moved to another account"])
async def test_a_device_removed_mid_send_leaves_the_batch_recorded_once(
    engine: AsyncEngine, how: str
) -> None:
    alice = await make_user(engine, NOW, time_zone="UTC")
    bob = await make_user(engine, NOW, time_zone="UTC")
    phone = await add_device(engine, alice, NOW, f"alice-{alice}", platform="ios")
    await add_device(engine, bob, NOW, f"bob-{bob}")
    for owner in (alice, bob):
        await put_reminder(
            engine, owner, NOW, title="Call Ada", dueOn="2026-11-23", dueTime="11:00"
        )
    await planner.plan_owners(engine, [alice, bob], NOW)

    async def remove() -> None:
        if how == "unregistered":
            async with engine.begin() as conn:
                assert await store.delete_device(conn, owner_id=alice, device_id=phone)
        else:  # Carol signs in on Alice's phone: the token moves to her
            carol = await make_user(engine, NOW, time_zone="UTC")
            await add_device(engine, carol, NOW, f"alice-{alice}")

    sender = RemovingSender(remove)
    worker = Worker(engine=engine, sender=sender, clock=FixedClock(NOW), plan=False, name="w1")
    assert await worker.deliver_due() == 2
    for owner in (alice, bob):
        (row,) = await scheduled(engine, owner)
        assert (row["status"], row["lease_until"]) == ("SENT", None)
    # Alice's history keeps the push to the phone that went, with its platform.
    async with engine.connect() as conn:
        (row,) = await scheduled(engine, alice)
        found = await store.list_deliveries(conn, owner_id=alice, notification_ids=[row["id"]])
    assert [(d["device_id"], d["platform"], d["outcome"]) for d in found[row["id"]]] == [
        (phone, "ios", "DELIVERED")
    ]
    # Nothing is left for another worker once the lease would have run out.
    later = Worker(
        engine=engine,
        sender=sender,
        clock=FixedClock(NOW + timedelta(minutes=6)),
        plan=False,
        name="w2",
    )
    assert await later.deliver_due() == 0
    assert len(sender.sent) == 2


class ScriptedSender(LogSender):
    """Answers per token from a script, DELIVERED otherwise."""

    def __init__(self, script: dict[str, SendResult]) -> None:
        super().__init__()
        self.script = script
        self.sent: list[Push] = []

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        self.sent += pushes
        delivered = await super().send(pushes)
        return [self.script.get(p.token, d) for p, d in zip(pushes, delivered, strict=True)]


UNAVAILABLE = SendResult(Outcome.TRANSIENT, error_code="UNAVAILABLE", detail="Try later")


@pytest.mark.parametrize(
    "then", ["its day passes", "the tablet is unregistered", "both are unregistered"]
)
async def test_a_push_one_device_got_stays_sent_whatever_stops_the_retry(
    engine: AsyncEngine, then: str
) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    phone = await add_device(engine, owner, NOW, f"phone-{owner}")
    tablet = await add_device(engine, owner, NOW, f"tablet-{owner}")
    await put_reminder(engine, owner, NOW, title="Call Ada", dueOn="2026-11-23", dueTime="11:00")
    await planner.plan_owners(engine, [owner], NOW)
    sender = ScriptedSender({f"tablet-{owner}": UNAVAILABLE})
    assert await Worker(
        engine=engine, sender=sender, clock=FixedClock(NOW), plan=False
    ).deliver_due()
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["sent_at"]) == ("PENDING", NOW)
    if then == "its day passes":
        later = NOW + timedelta(days=1)
    else:
        later = row["due_at"]
        gone = [tablet, phone] if then == "both are unregistered" else [tablet]
        async with engine.begin() as conn:
            for device in gone:
                await store.delete_device(conn, owner_id=owner, device_id=device)
    worker = Worker(engine=engine, sender=sender, clock=FixedClock(later), plan=False)
    assert await worker.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["sent_at"]) == ("SENT", NOW)
    assert str(tablet) in row["last_error"]
    assert len(sender.sent) == 2  # the phone once, the tablet once


class BrokenSender(LogSender):
    """Raises what no sender should, with a device token in its message."""

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        raise KeyError(f"no route for {pushes[0].token}")


async def one_due_row(engine: AsyncEngine, token: str) -> UUID:
    owner = await make_user(engine, NOW, time_zone="UTC")
    await add_device(engine, owner, NOW, token)
    await put_reminder(engine, owner, NOW, title="Call Ada", dueOn="2026-11-23", dueTime="11:00")
    await planner.plan_owners(engine, [owner], NOW)
    return owner


async def test_a_sender_that_raises_makes_the_pushes_transient_until_the_cap(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    token = "secret-token-0123456789-abcdefghij"
    owner = await one_due_row(engine, token)
    clock = FixedClock(NOW)
    worker = Worker(engine=engine, sender=BrokenSender(), clock=clock, plan=False, max_attempts=2)
    with caplog.at_level(logging.ERROR, logger="rapport.notifications.worker"):
        assert await worker.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["attempts"], row["lease_until"]) == ("PENDING", 1, None)
    assert "SENDER_ERROR: KeyError" in row["last_error"]
    (record,) = caplog.records
    assert "Traceback" in record.getMessage()  # what went wrong, where
    assert token not in caplog.text
    assert token not in row["last_error"]
    clock.at = row["due_at"]
    assert await worker.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["attempts"]) == ("FAILED", 2)
    assert [d["outcome"] for d in await deliveries(engine, owner)] == ["TRANSIENT"] * 2


class CrashingSender(LogSender):
    """The worker dies while the pushes are out: nothing is recorded, the rows stay SENDING."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        self.calls += 1
        raise asyncio.CancelledError


async def test_a_row_whose_takers_all_died_fails_instead_of_being_sent_again(
    engine: AsyncEngine,
) -> None:
    owner = await one_due_row(engine, f"crash-{new_id()}")
    clock = FixedClock(NOW)
    crashing = CrashingSender()
    worker = Worker(engine=engine, sender=crashing, clock=clock, plan=False, max_attempts=3)
    for _ in range(3):
        with pytest.raises(asyncio.CancelledError):
            await worker.deliver_due()
        clock.at += timedelta(minutes=6)  # the lease runs out
    assert crashing.calls == 3
    sender = ScriptedSender({})
    after = Worker(engine=engine, sender=sender, clock=clock, plan=False, max_attempts=3)
    assert await after.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["attempts"], row["lease_until"]) == ("FAILED", 3, None)
    assert row["last_error"] == "a worker took it 3 times without finishing"
    assert sender.sent == []
    assert await after.deliver_due() == 0


async def test_a_row_a_device_got_stays_sent_when_its_takers_then_die(
    engine: AsyncEngine,
) -> None:
    owner = await one_due_row(engine, f"phone-{new_id()}")
    await add_device(engine, owner, NOW, f"tablet-{owner}")
    clock = FixedClock(NOW)
    half = ScriptedSender(
        {f"tablet-{owner}": SendResult(Outcome.TRANSIENT, error_code="UNAVAILABLE")}
    )
    worker = Worker(engine=engine, sender=half, clock=clock, plan=False, max_attempts=2)
    assert await worker.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["sent_at"]) == ("PENDING", NOW)
    clock.at = row["due_at"]
    dying = Worker(engine=engine, sender=CrashingSender(), clock=clock, plan=False, max_attempts=2)
    with pytest.raises(asyncio.CancelledError):
        await dying.deliver_due()
    clock.at += timedelta(minutes=6)  # the lease runs out; the row's takes are used up
    assert await worker.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["sent_at"], row["attempts"]) == ("SENT", NOW, 2)


async def test_a_running_worker_plans_an_owner_without_a_planner_row(
    engine: AsyncEngine,
) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    await put_reminder(engine, owner, NOW, title="Call Ada", dueOn="2026-11-24")
    async with engine.begin() as conn:
        # As an API process of an older release would have left a new user.
        await conn.execute(sa.text("DELETE FROM planner_owners WHERE owner_id = :o"), {"o": owner})
    assert await planner.plan_due(engine, NOW) == 0
    worker = Worker(engine=engine, sender=LogSender(), clock=FixedClock(NOW))
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop, idle_seconds=0.05))
    try:
        async with asyncio.timeout(10):
            while not await scheduled(engine, owner):  # noqa: ASYNC110 (polling the database)
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
    assert [r["title"] for r in await scheduled(engine, owner)] == ["Call Ada"]


async def digest_owner(engine: AsyncEngine, now: datetime, times: list[str]) -> UUID:
    owner = await make_user(engine, now, time_zone="UTC", daily_digest=True)
    await add_device(engine, owner, now, f"digest-{owner}", platform="ios")
    for n, at in enumerate(times):
        await put_reminder(engine, owner, now, title=f"R{n}", dueOn="2026-11-23", dueTime=at)
    await planner.plan_owners(engine, [owner], now)
    return owner


async def test_two_digests_of_one_day_keep_apart_and_a_resent_one_replaces_itself(
    engine: AsyncEngine,
) -> None:
    morning = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    await digest_owner(engine, morning, ["09:00", "09:00", "15:00", "15:00"])
    # The 09:00 digest: its first worker dies while sending it, the next sends it again.
    crashing, sender = RecordingCrash(), ScriptedSender({})
    at_nine = FixedClock(datetime(2026, 11, 23, 9, 1, tzinfo=UTC))
    with pytest.raises(asyncio.CancelledError):
        await Worker(engine=engine, sender=crashing, clock=at_nine, plan=False).deliver_due()
    at_nine.at += timedelta(minutes=6)
    assert await Worker(engine=engine, sender=sender, clock=at_nine, plan=False).deliver_due()
    at_three = FixedClock(datetime(2026, 11, 23, 15, 1, tzinfo=UTC))
    assert await Worker(engine=engine, sender=sender, clock=at_three, plan=False).deliver_due()
    (lost,) = crashing.sent
    resent, afternoon = sender.sent
    assert resent.collapse_key == lost.collapse_key  # the copy replaces the first
    assert afternoon.collapse_key != resent.collapse_key  # the afternoon's stands beside it
    assert resent.data["notificationIds"] != afternoon.data["notificationIds"]


async def test_a_big_digest_lists_a_bounded_number_of_ids(engine: AsyncEngine) -> None:
    owner = await digest_owner(engine, NOW, ["11:00"] * 60)
    sender = ScriptedSender({})
    worker = Worker(engine=engine, sender=sender, clock=FixedClock(NOW), plan=False)
    assert await worker.deliver_due() == 60
    (push,) = sender.sent
    ids = push.data["notificationIds"].split(",")
    assert (len(ids), push.data["notificationCount"]) == (MAX_DIGEST_IDS, "60")
    assert set(ids) <= {str(row["id"]) for row in await scheduled(engine, owner)}
    assert len(json.dumps(push.data)) < 1024
    assert {r["status"] for r in await scheduled(engine, owner)} == {"SENT"}


class RecordingCrash(CrashingSender):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Push] = []

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        self.sent += pushes
        return await super().send(pushes)


@pytest.mark.parametrize(
    ("zone", "due_on", "due_time", "worker_at", "status"),
    [
        # 09:00 on the 24th in Auckland (UTC+13) is 20:00 UTC on the 23rd. At 11:30 UTC on
        # the 24th it is already the 25th there: missed, though the UTC date is still the 24th.
        ("Pacific/Auckland", "2026-11-24", "09:00", datetime(2026, 11, 24, 11, 30), "MISSED"),
        # 20:00 on the 23rd in New York (UTC-5) is 01:00 UTC on the 24th. At 04:30 UTC it is
        # 23:30 on the 23rd there: late but the same day, so sent, though the UTC date moved on.
        ("America/New_York", "2026-11-23", "20:00", datetime(2026, 11, 24, 4, 30), "SENT"),
    ],
)
async def test_late_pushes_go_the_same_local_day_and_are_missed_after_it(
    engine: AsyncEngine, zone: str, due_on: str, due_time: str, worker_at: datetime, status: str
) -> None:
    owner = await make_user(engine, NOW, time_zone=zone)
    await add_device(engine, owner, NOW, f"late-{owner}")
    await put_reminder(engine, owner, NOW, title="Call Ada", dueOn=due_on, dueTime=due_time)
    await planner.plan_owners(engine, [owner], NOW)
    (row,) = await scheduled(engine, owner)
    assert row["local_date"].isoformat() == due_on
    assert row["send_at"].date() != row["local_date"]  # the UTC date differs from the local one
    sender = ScriptedSender({})
    clock = FixedClock(worker_at.replace(tzinfo=UTC))
    assert await Worker(engine=engine, sender=sender, clock=clock, plan=False).deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert row["status"] == status
    assert len(sender.sent) == (status == "SENT")


class OvertakenSender(ScriptedSender):
    """Slow: while its pushes are out, the lease runs out and another worker takes them."""

    def __init__(self, other: Worker, *, finished: bool, then_wait: timedelta) -> None:
        super().__init__({})
        self.other = other
        self.finished = finished
        self.then_wait = then_wait

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        if self.finished:  # the other has sent them and recorded SENT
            assert await self.other.deliver_due() == 1
        else:  # the other has claimed them and is sending them now
            async with self.other.engine.begin() as conn:
                assert len(await self.other.claim.take(conn, self.other.clock.now())) == 1
        # Still out for several of the slow worker's renewals.
        await asyncio.sleep(self.then_wait.total_seconds())
        return [UNAVAILABLE for _ in pushes]


@pytest.mark.parametrize("finished", [True, False], ids=["sent by the other", "in its hands"])
async def test_a_worker_whose_lease_ran_out_leaves_the_row_to_the_one_that_took_over(
    engine: AsyncEngine, finished: bool, caplog: pytest.LogCaptureFixture
) -> None:
    owner = await one_due_row(engine, f"overtaken-{new_id()}")
    taken_over_at = NOW + timedelta(minutes=6)
    other = Worker(
        engine=engine,
        sender=ScriptedSender({}),
        clock=FixedClock(taken_over_at),
        plan=False,
        name="two",
    )
    lease = timedelta(seconds=0.3)
    slow = Worker(
        engine=engine,
        sender=OvertakenSender(other, finished=finished, then_wait=lease * 4),
        clock=FixedClock(NOW),
        plan=False,
        name="one",
        lease=lease,
    )
    with caplog.at_level(logging.WARNING, logger="rapport.notifications.worker"):
        assert await slow.deliver_due() == 1
    # Its renewals found the row taken and left it be (no lease_until of its own below).
    assert "one lost 1 pushes to another worker after their lease ran out" in caplog.messages
    (row,) = await scheduled(engine, owner)
    # The first worker's late TRANSIENT changed nothing: the row is the second one's.
    if finished:
        assert (row["status"], row["sent_at"], row["leased_by"]) == ("SENT", taken_over_at, None)
    else:
        assert (row["status"], row["leased_by"]) == ("SENDING", "two")
        assert row["lease_until"] == taken_over_at + other.lease
    assert (row["attempts"], row["last_error"]) == (2, None)


class StalledSender(ScriptedSender):
    """Answers once ``release`` is set, or raises what a crash mid-send would."""

    def __init__(self, *, crash: bool) -> None:
        super().__init__({})
        self.crash = crash
        self.release = asyncio.Event()
        self.sending = asyncio.Event()

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        self.sending.set()
        await self.release.wait()
        if self.crash:
            raise asyncio.CancelledError
        return await super().send(pushes)


def lease_renewals() -> set[asyncio.Task[object]]:
    return {task for task in asyncio.all_tasks() if task.get_name().startswith("renew lease")}


@pytest.mark.parametrize("crash", [False, True], ids=["answered", "crashed mid-send"])
async def test_the_lease_is_renewed_while_the_batch_is_out_and_no_longer(
    engine: AsyncEngine, crash: bool
) -> None:
    owner = await one_due_row(engine, f"renewed-{new_id()}")
    clock = FixedClock(NOW)
    lease = timedelta(seconds=0.3)
    sender = StalledSender(crash=crash)
    worker = Worker(engine=engine, sender=sender, clock=clock, plan=False, lease=lease)
    sending = asyncio.create_task(worker.deliver_due())
    async with asyncio.timeout(10):
        await sender.sending.wait()
    (claimed,) = await scheduled(engine, owner)
    assert claimed["lease_until"] == NOW + lease
    # The worker's clock moves on while FCM has the pushes: each renewal is from its now.
    clock.at = NOW + timedelta(minutes=1)
    async with asyncio.timeout(10):
        while (await scheduled(engine, owner))[0]["lease_until"] == claimed["lease_until"]:  # noqa: ASYNC110 (polling the database)
            await asyncio.sleep(0.05)
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["leased_by"]) == ("SENDING", worker.name)
    assert row["lease_until"] == clock.at + lease
    assert len(lease_renewals()) == 1
    sender.release.set()
    if crash:
        with pytest.raises(asyncio.CancelledError):
            await sending
    else:
        assert await sending == 1
    # Renewal ends with the batch, however the batch ends.
    assert lease_renewals() == set()
    (row,) = await scheduled(engine, owner)
    assert row["status"] == ("SENDING" if crash else "SENT")
