"""When pushes go out: yearly dates, repeats, time zones across DST, quiet hours, jitter."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from uuid import uuid4

import pytest

from insights.calendar import next_repeat, repeats_between, yearly_between
from model.agenda import Preferences
from model.enums import RepeatUnit
from notifications.timing import jitter_for, send_time


@pytest.mark.parametrize(
    ("year", "expected"), [(2027, date(2027, 2, 28)), (2028, date(2028, 2, 29))]
)
def test_a_feb_29_birthday_falls_on_feb_28_in_common_years(year: int, expected: date) -> None:
    assert yearly_between(2, 29, date(year, 1, 1), date(year, 12, 31)) == (expected,)


def test_monthly_repeats_clamp_month_ends_without_drifting() -> None:
    days = repeats_between(
        date(2027, 1, 31), RepeatUnit.MONTH, 1, date(2027, 1, 1), date(2027, 5, 31)
    )
    assert days == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
    ]
    leap = repeats_between(
        date(2028, 1, 31), RepeatUnit.MONTH, 1, date(2028, 2, 1), date(2028, 3, 1)
    )
    assert leap == [date(2028, 2, 29)]


def test_repeats_far_from_their_anchor_are_found_directly() -> None:
    anchor = date(2000, 3, 15)
    assert next_repeat(anchor, RepeatUnit.WEEK, 2, date(2026, 11, 17)) == date(2026, 11, 18)
    assert next_repeat(anchor, RepeatUnit.WEEK, 2, date(2026, 11, 18)) == date(2026, 12, 2)
    assert repeats_between(anchor, RepeatUnit.YEAR, 1, date(2026, 1, 1), date(2026, 12, 31)) == [
        date(2026, 3, 15)
    ]


@pytest.mark.parametrize(
    ("zone", "day", "utc"),
    [
        # America/New_York: EST (-5) to EDT (-4) on 2026-03-08, back on 2026-11-01.
        ("America/New_York", date(2026, 3, 7), datetime(2026, 3, 7, 14, 0, tzinfo=UTC)),
        ("America/New_York", date(2026, 3, 8), datetime(2026, 3, 8, 13, 0, tzinfo=UTC)),
        ("America/New_York", date(2026, 10, 31), datetime(2026, 10, 31, 13, 0, tzinfo=UTC)),
        ("America/New_York", date(2026, 11, 1), datetime(2026, 11, 1, 14, 0, tzinfo=UTC)),
        # Europe/Berlin: CET (+1) to CEST (+2) on 2026-03-29, back on 2026-10-25.
        ("Europe/Berlin", date(2026, 3, 28), datetime(2026, 3, 28, 8, 0, tzinfo=UTC)),
        ("Europe/Berlin", date(2026, 3, 29), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
        ("Europe/Berlin", date(2026, 10, 25), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
        # Pacific/Auckland: NZDT (+13) ends 2026-04-05, NZST (+12) ends 2026-09-27.
        ("Pacific/Auckland", date(2026, 4, 4), datetime(2026, 4, 3, 20, 0, tzinfo=UTC)),
        ("Pacific/Auckland", date(2026, 4, 5), datetime(2026, 4, 4, 21, 0, tzinfo=UTC)),
        ("Pacific/Auckland", date(2026, 9, 27), datetime(2026, 9, 26, 20, 0, tzinfo=UTC)),
        # America/St_Johns: a half-hour zone, -3:30 to -2:30 on 2026-03-08.
        ("America/St_Johns", date(2026, 3, 7), datetime(2026, 3, 7, 12, 30, tzinfo=UTC)),
        ("America/St_Johns", date(2026, 3, 8), datetime(2026, 3, 8, 11, 30, tzinfo=UTC)),
        # Asia/Kolkata: +5:30, no DST.
        ("Asia/Kolkata", date(2026, 3, 8), datetime(2026, 3, 8, 3, 30, tzinfo=UTC)),
    ],
)
def test_the_preferred_hour_is_local_on_both_sides_of_dst_changes(
    zone: str, day: date, utc: datetime
) -> None:
    assert send_time(day, Preferences(zone, 9)) == utc


def test_a_chosen_time_in_a_spring_forward_gap_lands_just_after_it() -> None:
    at = send_time(date(2026, 3, 8), Preferences("America/New_York", 9), at=time(2, 30))
    assert at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT


@pytest.mark.parametrize(
    ("hour", "start", "end", "local"),
    [
        (6, time(22), time(7), time(7)),  # early morning, quiet wraps midnight: to its end
        (23, time(22), time(7), time(21, 45)),  # late evening: before quiet begins
        (13, time(12), time(14), time(14)),  # a quiet lunch: to its end
        (9, time(22), time(7), time(9)),  # outside quiet hours: unchanged
    ],
)
def test_quiet_hours_move_a_push_within_the_same_local_day(
    hour: int, start: time, end: time, local: time
) -> None:
    prefs = Preferences("Europe/Berlin", hour, start, end)
    expected = datetime.combine(date(2026, 7, 1), local).replace(tzinfo=UTC)
    # Berlin is +2 in July.
    assert send_time(date(2026, 7, 1), prefs) == expected.replace(hour=(local.hour - 2) % 24)


def test_jitter_is_small_stable_per_owner_and_spread() -> None:
    owners = [uuid4() for _ in range(200)]
    jitters = [jitter_for(owner) for owner in owners]
    assert all(0 <= j < 10 for j in jitters)
    assert [jitter_for(owner) for owner in owners] == jitters
    assert len(set(jitters)) > 5
    prefs = Preferences("Asia/Kolkata", 9, jitter_minutes=7)
    assert send_time(date(2026, 3, 8), prefs) == datetime(2026, 3, 8, 3, 37, tzinfo=UTC)
