"""The planner over real data: what it plans, that planning twice plans once, re-plans,
and passes running at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from model.clock import FixedClock
from notifications import backlog, planner
from notifications.sender import LogSender, Outcome, Push, SendResult
from notifications.timing import jitter_for
from notifications.worker import Worker
from store import accounts, agenda
from sync.entity import CONTACT, REMINDER
from sync.writer import open_writer
from tests.integration.notify_support import (
    add_device,
    deliveries,
    make_user,
    put_contact,
    put_reminder,
    scheduled,
)

# Monday 2026-11-23, 06:00 in Berlin.
NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


async def test_a_plan_covers_birthdays_anniversaries_follow_ups_and_reminders(
    engine: AsyncEngine,
) -> None:
    owner = await make_user(engine, NOW, time_zone="Europe/Berlin", reminder_hour=9)
    await put_contact(
        engine, owner, NOW, firstName="Ada", birthday={"month": 11, "day": 30, "year": 1990}
    )
    await put_contact(engine, owner, NOW, firstName="Grace", workStartedOn="2021-11-25")
    await put_reminder(engine, owner, NOW, title="Send the deck", dueOn="2026-11-24")
    await planner.plan_owners(engine, [owner], NOW)
    rows = await scheduled(engine, owner)
    described = [(r["kind"], r["local_date"], r["lead_days"], r["title"]) for r in rows]
    assert described == [
        # Ada's birthday is in 7 days: the week-ahead push goes today, the day's in a week.
        ("BIRTHDAY", date(2026, 11, 23), 7, "Ada's birthday in 7 days (Nov 30) (turns 36)"),
        ("REMINDER", date(2026, 11, 24), 0, "Send the deck"),
        ("ANNIVERSARY", date(2026, 11, 25), 0, "Grace: 5 years at work today"),
        ("BIRTHDAY", date(2026, 11, 30), 0, "Ada's birthday today (turns 36)"),
    ]
    jitter = rows[0]["send_at"] - datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert timedelta(0) <= jitter < timedelta(minutes=10)
    assert all(r["status"] == "PENDING" for r in rows)


async def test_planning_twice_plans_once(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="Asia/Kolkata")
    await put_contact(engine, owner, NOW, firstName="Ada", birthday={"month": 11, "day": 26})
    await planner.plan_owners(engine, [owner], NOW)
    first = await scheduled(engine, owner)
    await planner.plan_owners(engine, [owner], NOW + timedelta(minutes=5))
    again = await scheduled(engine, owner)
    assert [r["id"] for r in again] == [r["id"] for r in first]
    assert len(first) == 1
    # Nothing changed, so nothing was rewritten.
    assert again[0]["updated_at"] == first[0]["updated_at"] == NOW


async def test_an_edit_re_plans_only_what_is_pending(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="Europe/Berlin")
    ada = await put_contact(engine, owner, NOW, firstName="Ada", birthday={"month": 11, "day": 27})
    await planner.plan_due(engine, NOW)
    assert [r["occurrence"] for r in await scheduled(engine, owner)] == [date(2026, 11, 27)]
    # The birthday was wrong: the write bumps the owner's version, the planner notices.
    await put_contact(engine, owner, NOW, ada, birthday={"month": 11, "day": 28})
    assert owner in await backlog.owners_to_plan(engine, NOW, 100)
    await planner.plan_due(engine, NOW)
    assert [r["occurrence"] for r in await scheduled(engine, owner)] == [date(2026, 11, 28)]
    assert owner not in await backlog.owners_to_plan(engine, NOW, 100)


async def test_a_new_time_zone_re_times_pending_pushes(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="Europe/Berlin", reminder_hour=9)
    await put_reminder(engine, owner, NOW, title="Call the bank", dueOn="2026-11-25")
    await planner.plan_due(engine, NOW)
    before = (await scheduled(engine, owner))[0]["send_at"]
    async with engine.begin() as conn:
        await accounts.update_user(
            conn, user_id=owner, now=NOW, values={"time_zone": "America/New_York"}
        )
    assert owner in await backlog.owners_to_plan(engine, NOW, 100)
    await planner.plan_due(engine, NOW)
    after = (await scheduled(engine, owner))[0]["send_at"]
    assert after - before == timedelta(hours=6)  # 09:00 in New York is 6 hours later


async def test_completing_a_reminder_cancels_its_push_and_a_repeat_moves_on(
    engine: AsyncEngine,
) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    once = await put_reminder(engine, owner, NOW, title="Once", dueOn="2026-11-24")
    weekly = await put_reminder(
        engine, owner, NOW, title="Weekly", dueOn="2026-11-16", repeatUnit="WEEK"
    )
    await planner.plan_owners(engine, [owner], NOW)
    planned = {(r["title"], r["occurrence"]) for r in await scheduled(engine, owner)}
    # The weekly one was last done before Nov 16: one push for today's, none for the missed.
    assert planned == {
        ("Once", date(2026, 11, 24)),
        ("Weekly", date(2026, 11, 23)),
        ("Weekly", date(2026, 11, 30)),
    }
    await put_reminder(engine, owner, NOW, once, completedThrough="2026-11-24")
    await put_reminder(engine, owner, NOW, weekly, completedThrough="2026-11-23")
    await planner.plan_owners(engine, [owner], NOW)
    planned = {(r["title"], r["occurrence"]) for r in await scheduled(engine, owner)}
    assert planned == {("Weekly", date(2026, 11, 30))}


async def test_quiet_hours_and_a_chosen_time(engine: AsyncEngine) -> None:
    owner = await make_user(
        engine,
        NOW,
        time_zone="America/St_Johns",
        reminder_hour=6,
        quiet_hours_start=time(22),
        quiet_hours_end=time(7, 30),
    )
    await put_reminder(engine, owner, NOW, title="Quiet", dueOn="2026-11-25")
    await put_reminder(engine, owner, NOW, title="At noon", dueOn="2026-11-25", dueTime="12:00")
    await planner.plan_owners(engine, [owner], NOW)
    times = {r["title"]: r["send_at"] for r in await scheduled(engine, owner)}
    # St John's is UTC-3:30 in November: 07:30 is 11:00 UTC (plus the owner's jitter).
    assert timedelta(0) <= times["Quiet"] - datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
    assert times["Quiet"] - datetime(2026, 11, 25, 11, 0, tzinfo=UTC) < timedelta(minutes=10)
    assert times["At noon"] == datetime(2026, 11, 25, 15, 30, tzinfo=UTC)


async def test_a_push_whose_day_passed_unsent_is_marked_missed_not_dropped(
    engine: AsyncEngine,
) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    await add_device(engine, owner, NOW, "token-missed")
    await put_reminder(engine, owner, NOW, title="Today", dueOn="2026-11-23")
    await planner.plan_owners(engine, [owner], NOW)
    # No worker ran all day; the next morning the worker finds it.
    later = NOW + timedelta(days=1)
    worker = Worker(engine=engine, sender=LogSender(), clock=FixedClock(later), plan=False)
    assert await worker.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert row["status"] == "MISSED"
    assert "passed" in row["last_error"]


async def test_a_push_late_the_same_day_is_still_sent(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    await add_device(engine, owner, NOW, "token-late")
    await put_reminder(engine, owner, NOW, title="Today", dueOn="2026-11-23")
    await planner.plan_owners(engine, [owner], NOW)
    later = NOW.replace(hour=20)
    worker = Worker(engine=engine, sender=LogSender(), clock=FixedClock(later), plan=False)
    assert await worker.deliver_due() == 1
    (row,) = await scheduled(engine, owner)
    assert (row["status"], row["sent_at"]) == ("SENT", later)


async def planned(engine: AsyncEngine, owner: UUID) -> list[tuple[str, date, int, str]]:
    return [
        (r["kind"], r["local_date"], r["lead_days"], r["title"])
        for r in await scheduled(engine, owner)
    ]


async def test_a_snooze_onto_later_occurrences_plans_once_each_and_the_batch_goes_on(
    engine: AsyncEngine,
) -> None:
    bystander = await make_user(engine, NOW, time_zone="Europe/Berlin")
    await put_contact(engine, bystander, NOW, firstName="Ada", birthday={"month": 11, "day": 26})
    snoozer = await make_user(engine, NOW, time_zone="Europe/Berlin")
    await put_reminder(
        engine,
        snoozer,
        NOW,
        title="Pills",
        dueOn="2026-11-23",
        repeatUnit="DAY",
        snoozedUntil="2026-11-25",
    )
    # Planned together, as one batch: a duplicate key would fail the whole statement.
    assert await planner.plan_due(engine, NOW) == 2
    assert len(await scheduled(engine, bystander)) == 1
    rows = [(r["occurrence"].day, r["local_date"].day) for r in await scheduled(engine, snoozer)]
    # Monday's pills on Wednesday; Tuesday's and Wednesday's are covered by the snooze.
    assert rows == [(25, 25), (26, 26), (27, 27), (28, 28), (29, 29), (30, 30)]


async def test_a_follow_up_is_pushed_on_its_day_and_not_once_overdue(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="Europe/Berlin")
    # Created with a 30-day cadence 27 days ago (due Thursday) and 40 days ago (overdue).
    await put_contact(engine, owner, NOW - timedelta(days=27), firstName="Ada", cadenceDays=30)
    await put_contact(engine, owner, NOW - timedelta(days=40), firstName="Bob", cadenceDays=30)
    await planner.plan_owners(engine, [owner], NOW)
    assert await planned(engine, owner) == [
        ("FOLLOW_UP", date(2026, 11, 26), 0, "Time to catch up with Ada")
    ]


async def test_a_contacts_snooze_moves_its_follow_up(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="America/New_York")
    # Due Tuesday by its cadence, snoozed to Friday; another snoozed with no cadence at all.
    await put_contact(
        engine,
        owner,
        NOW - timedelta(days=29),
        firstName="Ada",
        cadenceDays=30,
        snoozedUntil="2026-11-27",
    )
    await put_contact(engine, owner, NOW, firstName="Bob", snoozedUntil="2026-11-28")
    await planner.plan_owners(engine, [owner], NOW)
    assert [(k, d) for k, d, _, _ in await planned(engine, owner)] == [
        ("FOLLOW_UP", date(2026, 11, 27)),
        ("FOLLOW_UP", date(2026, 11, 28)),
    ]


async def test_lead_days_of_the_user_a_contact_and_a_reminder(engine: AsyncEngine) -> None:
    leads = {"birthday": [0, 2], "anniversary": [1], "followUp": [0], "reminder": [1]}
    owner = await make_user(engine, NOW, time_zone="UTC", lead_days=leads)
    await put_contact(engine, owner, NOW, firstName="Ada", birthday={"month": 11, "day": 27})
    await put_contact(
        engine, owner, NOW, firstName="Bob", birthday={"month": 11, "day": 27}, leadDays=[3]
    )
    await put_contact(engine, owner, NOW, firstName="Cy", workStartedOn="2020-11-26")
    await put_reminder(engine, owner, NOW, title="Mine", dueOn="2026-11-26")
    await put_reminder(engine, owner, NOW, title="Its own", dueOn="2026-11-26", leadDays=[0, 2])
    await planner.plan_owners(engine, [owner], NOW)
    assert sorted(
        (title, day.day, lead) for _, day, lead, title in await planned(engine, owner)
    ) == [
        ("Ada's birthday in 2 days (Nov 27)", 25, 2),
        ("Ada's birthday today", 27, 0),
        ("Bob's birthday in 3 days (Nov 27)", 24, 3),  # the contact's list replaces the user's
        ("Cy: 6 years at work tomorrow", 25, 1),
        ("Its own", 24, 2),
        ("Its own", 26, 0),
        ("Mine", 25, 1),
    ]


async def test_deleted_contacts_and_reminders_are_not_planned(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    ada = await put_contact(engine, owner, NOW, firstName="Ada", birthday={"month": 11, "day": 25})
    bob = await put_contact(engine, owner, NOW, firstName="Bob", birthday={"month": 11, "day": 26})
    task = await put_reminder(engine, owner, NOW, title="Task", dueOn="2026-11-25")
    gone = await put_reminder(engine, owner, NOW, title="Gone", dueOn="2026-11-26")
    async with open_writer(engine, owner, FixedClock(NOW)) as w:
        await w.set_alive(CONTACT, {"id": bob}, alive=False)
        await w.set_alive(REMINDER, {"id": gone}, alive=False)
    await planner.plan_owners(engine, [owner], NOW)
    assert {r["subject_id"] for r in await scheduled(engine, owner)} == {ada, task}
    # Deleted after planning: their pending pushes go too.
    async with open_writer(engine, owner, FixedClock(NOW)) as w:
        await w.set_alive(CONTACT, {"id": ada}, alive=False)
        await w.set_alive(REMINDER, {"id": task}, alive=False)
    await planner.plan_owners(engine, [owner], NOW)
    assert await scheduled(engine, owner) == []


@pytest.mark.parametrize(
    ("now", "time_zone", "day"),
    [
        # 2027 is a common year: Feb 29 people are celebrated on Feb 28.
        (datetime(2027, 2, 25, 12, tzinfo=UTC), "America/New_York", date(2027, 2, 28)),
        (datetime(2027, 2, 21, 12, tzinfo=UTC), "Pacific/Auckland", date(2027, 2, 28)),
        (datetime(2028, 2, 26, 12, tzinfo=UTC), "Asia/Kolkata", date(2028, 2, 29)),
    ],
)
async def test_a_feb_29_birthday_and_anniversary_through_the_planners_query(
    engine: AsyncEngine, now: datetime, time_zone: str, day: date
) -> None:
    owner = await make_user(engine, now, time_zone=time_zone)
    await put_contact(
        engine, owner, now, firstName="Leap", birthday={"month": 2, "day": 29, "year": 2000}
    )
    await put_contact(engine, owner, now, firstName="Work", workStartedOn="2020-02-29")
    await planner.plan_owners(engine, [owner], now)
    on_the_day = {title: d for kind, d, lead, title in await planned(engine, owner) if not lead}
    assert on_the_day == {
        f"Leap's birthday today (turns {day.year - 2000})": day,
        f"Work: {day.year - 2020} years at work today": day,
    }


async def test_the_window_ends_seven_days_ahead(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="Europe/Berlin")
    await put_reminder(engine, owner, NOW, title="Last day", dueOn="2026-11-30")
    await put_reminder(engine, owner, NOW, title="A day too far", dueOn="2026-12-01")
    await put_contact(engine, owner, NOW, firstName="Ada", birthday={"month": 12, "day": 7})
    await put_contact(engine, owner, NOW, firstName="Bob", birthday={"month": 12, "day": 8})
    await planner.plan_owners(engine, [owner], NOW)
    assert await planned(engine, owner) == [
        ("BIRTHDAY", date(2026, 11, 30), 7, "Ada's birthday in 7 days (Dec 7)"),
        ("REMINDER", date(2026, 11, 30), 0, "Last day"),
    ]


async def test_a_new_reminder_hour_re_times_pending_pushes(engine: AsyncEngine) -> None:
    owner = await make_user(engine, NOW, time_zone="Europe/Berlin", reminder_hour=9)
    await put_reminder(engine, owner, NOW, title="Call the bank", dueOn="2026-11-25")
    await planner.plan_due(engine, NOW)
    before = (await scheduled(engine, owner))[0]["send_at"]
    async with engine.begin() as conn:
        await accounts.update_user(conn, user_id=owner, now=NOW, values={"reminder_hour": 7})
    assert await planner.plan_due(engine, NOW) == 1
    assert (await scheduled(engine, owner))[0]["send_at"] == before - timedelta(hours=2)


async def test_st_johns_falls_back_without_moving_the_local_hour(engine: AsyncEngine) -> None:
    # America/St_Johns leaves -2:30 for -3:30 at 02:00 on Sunday 2026-11-01.
    now = datetime(2026, 10, 29, 12, tzinfo=UTC)
    owner = await make_user(engine, now, time_zone="America/St_Johns", reminder_hour=9)
    await put_reminder(engine, owner, now, title="Saturday", dueOn="2026-10-31")
    await put_reminder(engine, owner, now, title="Monday", dueOn="2026-11-02")
    # 01:30 happens twice that night: the first, still at -2:30.
    await put_reminder(engine, owner, now, title="Twice", dueOn="2026-11-01", dueTime="01:30")
    await planner.plan_owners(engine, [owner], now)
    jitter = timedelta(minutes=jitter_for(owner))
    assert {r["title"]: r["send_at"] for r in await scheduled(engine, owner)} == {
        "Saturday": datetime(2026, 10, 31, 11, 30, tzinfo=UTC) + jitter,
        "Twice": datetime(2026, 11, 1, 4, 0, tzinfo=UTC),
        "Monday": datetime(2026, 11, 2, 12, 30, tzinfo=UTC) + jitter,
    }


async def test_a_reminder_whose_day_passed_while_no_worker_ran_is_missed_not_moved(
    engine: AsyncEngine,
) -> None:
    # Auckland is +13 in November: Monday 07:00 there is Sunday 18:00 UTC.
    morning = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    owner = await make_user(engine, morning, time_zone="Pacific/Auckland")
    await add_device(engine, owner, morning, "token-auckland")
    await put_reminder(engine, owner, morning, title="Early", dueOn="2026-11-23", dueTime="08:00")
    await put_reminder(engine, owner, morning, title="Night", dueOn="2026-11-23", dueTime="23:30")
    await planner.plan_owners(engine, [owner], morning)
    # No worker until 23:00; the one that comes back plans before it sends, as they all do.
    evening = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    await Worker(engine=engine, sender=LogSender(), clock=FixedClock(evening)).run_once()
    status = {r["title"]: r["status"] for r in await scheduled(engine, owner)}
    assert status == {"Early": "SENT", "Night": "PENDING"}  # late, but the same local day
    # Then none until Tuesday 01:00: Monday night's push is missed, not moved to Tuesday.
    tuesday = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    await Worker(engine=engine, sender=LogSender(), clock=FixedClock(tuesday)).run_once()
    rows = {r["title"]: r for r in await scheduled(engine, owner)}
    assert (rows["Night"]["status"], rows["Night"]["local_date"]) == ("MISSED", date(2026, 11, 23))


class HalfDown(LogSender):
    """Delivers to every token but one, which answers UNAVAILABLE."""

    def __init__(self, down: str) -> None:
        super().__init__()
        self.down = down

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        results = await super().send(pushes)
        return [
            SendResult(Outcome.TRANSIENT, error_code="UNAVAILABLE") if p.token == self.down else r
            for p, r in zip(pushes, results, strict=True)
        ]


async def test_a_re_plan_leaves_a_row_the_worker_has_tried_and_its_history(
    engine: AsyncEngine,
) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    await add_device(engine, owner, NOW, "phone")
    await add_device(engine, owner, NOW, "tablet")
    reminder = await put_reminder(
        engine, owner, NOW, title="Call Ada", dueOn="2026-11-23", dueTime="05:00"
    )
    await planner.plan_owners(engine, [owner], NOW)
    worker = Worker(engine=engine, sender=HalfDown("tablet"), clock=FixedClock(NOW), plan=False)
    assert await worker.deliver_due() == 1
    (tried,) = await scheduled(engine, owner)
    assert (tried["status"], tried["attempts"]) == ("PENDING", 1)
    # The phone has it; the user completes the reminder before the tablet's retry.
    later = NOW + timedelta(minutes=1)
    await put_reminder(engine, owner, later, reminder, completedThrough="2026-11-23")
    await planner.plan_owners(engine, [owner], later)
    (row,) = await scheduled(engine, owner)
    # Kept, with its history, and settled: the phone got it, and nobody wants it any more.
    assert (row["id"], row["attempts"], row["status"]) == (tried["id"], 1, "SENT")
    assert row["sent_at"] == tried["sent_at"] == NOW
    assert sorted(d["outcome"] for d in await deliveries(engine, owner)) == [
        "DELIVERED",
        "TRANSIENT",
    ]
    # The tablet's retry never comes.
    worker.clock = FixedClock(tried["due_at"] + timedelta(hours=1))
    assert await worker.deliver_due() == 0


async def test_a_push_in_back_off_whose_reminder_is_deleted_is_cancelled_not_sent(
    engine: AsyncEngine,
) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    await add_device(engine, owner, NOW, "tablet")
    reminder = await put_reminder(
        engine, owner, NOW, title="Pay the old invoice", dueOn="2026-11-23", dueTime="05:00"
    )
    await planner.plan_owners(engine, [owner], NOW)
    worker = Worker(engine=engine, sender=HalfDown("tablet"), clock=FixedClock(NOW), plan=False)
    assert await worker.deliver_due() == 1
    (tried,) = await scheduled(engine, owner)
    assert (tried["status"], tried["sent_at"]) == ("PENDING", None)
    later = NOW + timedelta(minutes=1)
    async with open_writer(engine, owner, FixedClock(later)) as w:
        await w.set_alive(REMINDER, {"id": reminder}, alive=False)
    await planner.plan_owners(engine, [owner], later)
    (row,) = await scheduled(engine, owner)
    assert (row["id"], row["status"]) == (tried["id"], "CANCELLED")
    worker.clock = FixedClock(tried["due_at"] + timedelta(hours=1))
    assert await worker.deliver_due() == 0
    assert [d["outcome"] for d in await deliveries(engine, owner)] == ["TRANSIENT"]


async def test_a_snooze_after_the_push_went_out_brings_a_push_on_the_snooze_day(
    engine: AsyncEngine,
) -> None:
    for repeat in ({}, {"repeatUnit": "WEEK"}):
        owner = await make_user(engine, NOW, time_zone="UTC")
        await add_device(engine, owner, NOW, f"snoozer-{owner}")
        reminder = await put_reminder(
            engine, owner, NOW, title="Call mum", dueOn="2026-11-23", dueTime="05:00", **repeat
        )
        await planner.plan_owners(engine, [owner], NOW)
        worker = Worker(engine=engine, sender=LogSender(), clock=FixedClock(NOW), plan=False)
        assert await worker.deliver_due() == 1
        # The push arrived; the user taps "snooze until tomorrow".
        later = NOW + timedelta(minutes=30)
        await put_reminder(engine, owner, later, reminder, snoozedUntil="2026-11-24")
        await planner.plan_owners(engine, [owner], later)
        tuesday = NOW + timedelta(days=1)
        await planner.plan_owners(engine, [owner], tuesday)
        worker.clock = FixedClock(tuesday)
        assert await worker.deliver_due() == 1, repeat
        rows = [(r["local_date"], r["status"]) for r in await scheduled(engine, owner)]
        assert rows[:2] == [(date(2026, 11, 23), "SENT"), (date(2026, 11, 24), "SENT")]


async def test_an_owner_whose_plan_fails_does_not_hold_up_the_batch(engine: AsyncEngine) -> None:
    odd = await make_user(engine, NOW, time_zone="UTC")
    fine = await make_user(engine, NOW, time_zone="UTC")
    for owner in (odd, fine):
        await put_reminder(
            engine, owner, NOW, title="Weekly", dueOn="2026-11-24", repeatUnit="WEEK"
        )
    await planner.plan_due(engine, NOW)
    kept = await scheduled(engine, odd)
    # A date no write accepts any more, left by an older release: the repeat arithmetic
    # overflows for this owner alone.
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE reminders SET snoozed_until = '9999-12-30' WHERE owner_id = :o"),
            {"o": odd},
        )
        await conn.execute(
            sa.text("UPDATE planner_owners SET planned_version = -1, planned_at = NULL"),
        )
    await put_reminder(engine, fine, NOW, title="Dentist", dueOn="2026-11-25")
    assert await planner.plan_due(engine, NOW) == 2
    assert [r["title"] for r in await scheduled(engine, fine)] == ["Weekly", "Dentist"]
    assert [r["id"] for r in await scheduled(engine, odd)] == [r["id"] for r in kept]
    # Marked planned all the same: the next pass does not stumble over it again.
    assert await backlog.owners_to_plan(engine, NOW, None) == []


async def test_two_passes_at_once_never_plan_the_same_owner(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    owners = set()
    for n in range(20):
        owner = await make_user(engine, NOW, time_zone="UTC")
        await put_reminder(engine, owner, NOW, title=f"R{n}", dueOn="2026-11-24")
        owners.add(owner)
    # Both passes reach their reads before either commits: they really run at once.
    both_reading = asyncio.Barrier(2)
    seen: list[set[UUID]] = []
    load_facts = planner.load_facts

    async def load_together(conn: AsyncConnection, ids: Sequence[UUID], window: Any) -> Any:
        seen.append(set(ids))
        async with asyncio.timeout(10):
            await both_reading.wait()
        return await load_facts(conn, ids, window)

    monkeypatch.setattr(planner, "load_facts", load_together)
    counts = await asyncio.gather(*(planner.plan_due(engine, NOW, limit=12) for _ in range(2)))
    assert sorted(counts) == [8, 12]
    assert seen[0].isdisjoint(seen[1])
    assert seen[0] | seen[1] == owners
    monkeypatch.undo()
    assert await planner.plan_due(engine, NOW) == 0


async def test_plan_all_plans_every_owner_once_with_passes_in_flight(engine: AsyncEngine) -> None:
    owners = [await make_user(engine, NOW, time_zone="UTC") for _ in range(7)]
    for owner in owners:
        await put_reminder(engine, owner, NOW, title="R", dueOn="2026-11-24")
    assert await planner.plan_all(engine, NOW, concurrency=3) == (7, 7)
    assert await planner.plan_all(engine, NOW, concurrency=3) == (0, 0)


async def waiting_on_a_lock(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(await conn.scalar(query))


async def test_a_settings_change_during_a_pass_waits_for_it_and_is_not_lost(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await make_user(engine, NOW, time_zone="Europe/Berlin")
    await put_reminder(engine, owner, NOW, title="Call the bank", dueOn="2026-11-25")
    await planner.plan_due(engine, NOW)
    await put_reminder(engine, owner, NOW, title="Another", dueOn="2026-11-26")

    async def move_to_new_york() -> None:
        async with engine.begin() as conn:
            await accounts.update_user(
                conn, user_id=owner, now=NOW, values={"time_zone": "America/New_York"}
            )

    moves: list[asyncio.Task[None]] = []
    load_facts = planner.load_facts

    async def load_then_race(conn: AsyncConnection, ids: Sequence[UUID], window: Any) -> Any:
        facts = await load_facts(conn, ids, window)  # read while the user is in Berlin
        # The user's updateMe runs now, while this pass is between its read and its write.
        moves.append(asyncio.create_task(move_to_new_york()))
        async with asyncio.timeout(10):
            # Until it waits for this pass's lock (or, unlocked, has already committed).
            while not await waiting_on_a_lock(engine):
                done, _ = await asyncio.wait(moves, timeout=0.01)
                if done:
                    break
        return facts

    monkeypatch.setattr(planner, "load_facts", load_then_race)
    assert await planner.plan_due(engine, NOW) == 1
    monkeypatch.undo()
    await moves[0]
    # The change landed after the pass: the owner is due a plan now, not in an hour.
    assert await backlog.owners_to_plan(engine, NOW, None) == [owner]
    assert await planner.plan_due(engine, NOW) == 1
    send_ats = [r["send_at"] for r in await scheduled(engine, owner)]
    assert [(t.day, t.hour) for t in send_ats] == [(25, 14), (26, 14)]  # 09:0x in New York


async def test_the_agenda_reads_only_contacts_with_something_in_its_days(
    engine: AsyncEngine,
) -> None:
    owner = await make_user(engine, NOW, time_zone="UTC")
    await put_contact(engine, owner, NOW, firstName="Soon", birthday={"month": 11, "day": 29})
    await put_contact(engine, owner, NOW, firstName="Later", birthday={"month": 12, "day": 1})
    await put_contact(engine, owner, NOW, firstName="Overdue", snoozedUntil="2026-11-02")
    await put_contact(engine, owner, NOW, firstName="Ahead", snoozedUntil="2026-12-30")
    await put_contact(engine, owner, NOW, firstName="Leads", leadDays=[30])
    week = agenda.Window(date(2026, 11, 23), date(2026, 11, 29), overdue=True, own_leads=False)
    async with engine.connect() as conn:
        _, contacts, _ = await planner.load_facts(conn, [owner], week)
    assert sorted(c.name for c in contacts[owner]) == ["Overdue", "Soon"]
