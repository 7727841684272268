"""What is due and what is pushed, as pure rules: reminders behind schedule, snoozes that
cover later occurrences, overdue items, the agenda's order and the pushes' titles."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from insights.agenda import collect_events, due_occurrence
from model.agenda import ContactFacts, Due, Kind, Owner, Preferences, ReminderFacts
from model.enums import RepeatUnit
from notifications.plan import plan_pushes

OWNER = Owner(uuid4(), Preferences("UTC", 9))
MONDAY = date(2026, 11, 23)


def weekly(
    completed_through: date | None = None, snoozed_until: date | None = None
) -> ReminderFacts:
    """Due Mondays from Nov 2."""
    return ReminderFacts(
        uuid4(),
        "Water the plants",
        due_on=date(2026, 11, 2),
        repeat_unit=RepeatUnit.WEEK,
        repeat_every=1,
        completed_through=completed_through,
        snoozed_until=snoozed_until,
    )


def daily_snoozed(days: int) -> ReminderFacts:
    """Due every day from Monday, Monday's snoozed ``days`` days."""
    return ReminderFacts(
        uuid4(),
        "Pills",
        due_on=MONDAY,
        repeat_unit=RepeatUnit.DAY,
        repeat_every=1,
        snoozed_until=MONDAY + timedelta(days=days),
    )


def test_a_repeat_behind_schedule_is_due_at_its_latest_occurrence_up_to_today() -> None:
    # Due Mondays since Nov 2, never done: three missed, today's is the one due.
    assert due_occurrence(weekly(), MONDAY) == Due(MONDAY, MONDAY, MONDAY)
    # On Wednesday the Monday one is still the one due (overdue since Monday).
    wednesday = MONDAY + timedelta(days=2)
    assert due_occurrence(weekly(), wednesday) == Due(MONDAY, MONDAY, MONDAY)
    # Done through Monday: next Monday's, however far behind the record was.
    next_monday = date(2026, 11, 30)
    done = weekly(completed_through=MONDAY)
    assert due_occurrence(done, wednesday) == Due(next_monday, next_monday, next_monday)
    once = ReminderFacts(uuid4(), "Once", due_on=MONDAY, completed_through=MONDAY)
    assert due_occurrence(once, wednesday) is None


def test_a_snooze_moves_the_occurrence_and_covers_those_up_to_its_day() -> None:
    wednesday = MONDAY + timedelta(days=2)
    assert due_occurrence(daily_snoozed(2), MONDAY) == Due(MONDAY, wednesday, wednesday)
    # Behind schedule and snoozed: caught up first, the snooze covers what follows.
    assert due_occurrence(weekly(snoozed_until=date(2026, 12, 2)), MONDAY) == Due(
        MONDAY, date(2026, 12, 2), date(2026, 11, 30)
    )
    # A snooze that does not reach past the occurrence due changes nothing.
    stale = weekly(snoozed_until=date(2026, 11, 20))
    assert due_occurrence(stale, MONDAY) == Due(MONDAY, MONDAY, MONDAY)


def test_occurrences_a_snooze_covers_are_neither_listed_nor_pushed() -> None:
    daily = daily_snoozed(2)
    plan = plan_pushes(OWNER, [], [daily], MONDAY, 7)
    # Monday's occurrence goes on Wednesday, keyed on that day; Tuesday's and Wednesday's own
    # are covered.
    assert [(p.occurrence.day, p.local_date.day) for p in plan] == [
        (25, 25),
        *((day, day) for day in range(26, 31)),
    ]
    agenda = collect_events(OWNER, [], [daily], MONDAY, MONDAY + timedelta(days=6))
    assert [(e.occurrence.day, e.day.day) for e in agenda] == [
        (25, 25),
        *((day, day) for day in range(26, 30)),
    ]


@pytest.mark.parametrize("unit", list(RepeatUnit))
@pytest.mark.parametrize("every", [1, 2, 3])
def test_a_plan_never_holds_two_rows_with_one_unique_key(unit: RepeatUnit, every: int) -> None:
    leads = Owner(OWNER.id, OWNER.prefs, {"reminder": [0, 1, 3]})
    for due_back in range(0, 40, 3):
        for snooze_ahead in range(1, 12):
            for done_back in (None, 1, 10):
                done = None if done_back is None else MONDAY - timedelta(days=done_back)
                reminder = ReminderFacts(
                    uuid4(),
                    "R",
                    due_on=MONDAY - timedelta(days=due_back),
                    repeat_unit=unit,
                    repeat_every=every,
                    snoozed_until=MONDAY + timedelta(days=snooze_ahead),
                    completed_through=done,
                )
                keys = Counter(
                    (p.kind, p.subject_id, p.occurrence, p.lead_days)
                    for p in plan_pushes(leads, [], [reminder], MONDAY, 7)
                )
                assert set(keys.values()) <= {1}, (reminder, keys)


def test_overdue_items_are_listed_first_today_but_never_pushed() -> None:
    ada = ContactFacts(uuid4(), "Ada", birthday_month=11, birthday_day=23)
    late = ContactFacts(uuid4(), "Bob", next_follow_up_at=datetime(2026, 11, 20, 9, tzinfo=UTC))
    rent = ReminderFacts(uuid4(), "Pay rent", due_on=date(2026, 11, 1))
    weekly_late = weekly(completed_through=date(2026, 11, 16))
    tuesday = MONDAY + timedelta(days=1)
    agenda = collect_events(
        OWNER, [ada, late], [rent, weekly_late], tuesday, tuesday + timedelta(days=6)
    )
    assert [(e.title, e.day, e.due_since) for e in agenda] == [
        ("Pay rent", tuesday, date(2026, 11, 1)),
        ("Bob", tuesday, date(2026, 11, 20)),
        ("Water the plants", tuesday, MONDAY),
        ("Water the plants", date(2026, 11, 30), None),
    ]
    pushed = plan_pushes(OWNER, [ada, late], [rent, weekly_late], tuesday, 7)
    # Only next Monday's occurrence: the others' own days have passed.
    assert [(p.title, p.local_date) for p in pushed] == [("Water the plants", date(2026, 11, 30))]


def test_a_follow_up_lead_day_push_says_when() -> None:
    owner = Owner(OWNER.id, OWNER.prefs, {"followUp": [0, 3]})
    ada = ContactFacts(uuid4(), "Ada", next_follow_up_at=datetime(2026, 12, 4, 12, tzinfo=UTC))
    titles = {p.lead_days: p.title for p in plan_pushes(owner, [ada], [], date(2026, 12, 1), 7)}
    assert titles == {
        0: "Time to catch up with Ada",
        3: "Time to catch up with Ada in 3 days (Dec 4)",
    }
    assert {p.kind for p in plan_pushes(owner, [ada], [], date(2026, 12, 1), 7)} == {Kind.FOLLOW_UP}
