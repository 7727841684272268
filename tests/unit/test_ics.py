"""notifications.ics.build_calendar on plain rows (as the data export calls it), expanded by
recurring-ical-events: its recurrences fall on the days insights.calendar counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4

import icalendar
import recurring_ical_events

from insights.calendar import repeats_between
from model.enums import RepeatUnit
from notifications.ics import build_calendar

NOW = datetime(2027, 1, 5, 12, tzinfo=UTC)


def reminder(**fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid4(),
        "title": "Reminder",
        "notes": None,
        "due_on": date(2027, 1, 1),
        "due_time": None,
        "repeat_unit": None,
        "repeat_every": None,
        "completed_at": None,
        "completed_through": None,
        "snoozed_until": None,
    }
    return row | fields


def days(rows: list[dict[str, Any]], start: date, end: date) -> list[date]:
    """The days of the rows' events from ``start`` to ``end``, both included."""
    text = build_calendar(time_zone="UTC", contacts=[], reminders=rows, now=NOW)
    calendar = icalendar.Calendar.from_ical(text)
    events = recurring_ical_events.of(calendar).between(start, end + timedelta(days=1))
    starts = [event.decoded("DTSTART") for event in events]
    return sorted(s.date() if isinstance(s, datetime) else s for s in starts)


def test_repeats_fall_where_the_push_planner_puts_them() -> None:
    start, end = date(2027, 1, 1), date(2032, 12, 31)
    cases = [
        (date(2028, 2, 29), RepeatUnit.YEAR, 1),
        (date(2027, 1, 31), RepeatUnit.MONTH, 1),
        (date(2027, 1, 30), RepeatUnit.MONTH, 3),
        (date(2027, 1, 3), RepeatUnit.WEEK, 2),
        (date(2027, 1, 3), RepeatUnit.DAY, 10),
    ]
    for due_on, unit, every in cases:
        row = reminder(due_on=due_on, repeat_unit=unit.value, repeat_every=every)
        expected = repeats_between(due_on, unit, every, start, end)
        assert days([row], start, end) == expected, (due_on, unit, every)


def test_done_occurrences_are_left_out() -> None:
    weekly = reminder(
        due_on=date(2027, 1, 4), repeat_unit="WEEK", completed_through=date(2027, 1, 11)
    )
    once_done = reminder(completed_at=NOW, completed_through=date(2027, 1, 1))
    snoozed = reminder(title="Snoozed", snoozed_until=date(2027, 1, 9))
    found = days([weekly, once_done, snoozed], date(2027, 1, 1), date(2027, 1, 31))
    assert found == [date(2027, 1, 9), date(2027, 1, 18), date(2027, 1, 25)]


def test_a_timed_reminder_keeps_its_local_time_in_the_owner_zone() -> None:
    row = reminder(due_on=date(2027, 10, 24), due_time=time(8, 30), repeat_unit="DAY")
    text = build_calendar(time_zone="America/New_York", contacts=[], reminders=[row], now=NOW)
    calendar = icalendar.Calendar.from_ical(text)
    # New York leaves summer time on 2027-11-07.
    starts = [
        e.decoded("DTSTART")
        for e in recurring_ical_events.of(calendar).between(date(2027, 11, 5), date(2027, 11, 9))
    ]
    assert [s.strftime("%H:%M") for s in starts] == ["08:30"] * 4
    assert len({s.utcoffset() for s in starts}) == 2
