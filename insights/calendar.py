"""Dates of recurring events: birthdays, work anniversaries and repeating reminders.

Pure functions on dates; times and time zones are ``notifications.timing``'s business.
"""

from __future__ import annotations

import calendar
import functools
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from model.enums import RepeatUnit


def yearly_date(year: int, month: int, day: int) -> date:
    """The date of a yearly event in ``year``; Feb 29 falls on Feb 28 in common years."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


@functools.lru_cache(maxsize=8192)
def yearly_between(month: int, day: int, start: date, end: date) -> tuple[date, ...]:
    """Every date of a yearly event from ``start`` to ``end``, both included.

    Kept: a planning pass asks this for a million contacts over the same few windows.
    """
    return tuple(
        when
        for year in range(start.year, end.year + 1)
        if start <= (when := yearly_date(year, month, day)) <= end
    )


def repeat_step(unit: RepeatUnit, every: int, count: int) -> relativedelta | timedelta:
    """``count`` repetitions of every ``every`` ``unit``s."""
    n = every * count
    match unit:
        # Days and weeks have fixed lengths; timedelta is several times cheaper to add.
        case RepeatUnit.DAY:
            return timedelta(days=n)
        case RepeatUnit.WEEK:
            return timedelta(weeks=n)
        case RepeatUnit.MONTH:
            return relativedelta(months=n)
        case RepeatUnit.YEAR:
            return relativedelta(years=n)


def repeats_between(
    anchor: date, unit: RepeatUnit | None, every: int | None, start: date, end: date
) -> list[date]:
    """Occurrences of a reminder first due on ``anchor`` within ``start``..``end``.

    Each occurrence is counted from the anchor, never from the previous one, so month ends
    clamp without drifting: Jan 31 monthly gives Feb 28 (or 29), then Mar 31, Apr 30.
    """
    if unit is None or not every:
        return [anchor] if start <= anchor <= end else []
    found: list[date] = []
    count = _first_count(anchor, unit, every, start)
    while (when := anchor + repeat_step(unit, every, count)) <= end:
        if when >= start:
            found.append(when)
        count += 1
    return found


def next_repeat(anchor: date, unit: RepeatUnit, every: int, after: date) -> date:
    """The first occurrence strictly after ``after``."""
    count = _first_count(anchor, unit, every, after)
    while (when := anchor + repeat_step(unit, every, count)) <= after:
        count += 1
    return when


def last_repeat(anchor: date, unit: RepeatUnit, every: int, until: date) -> date | None:
    """The last occurrence on or before ``until``; None when the first is after it."""
    if until < anchor:
        return None
    count = _first_count(anchor, unit, every, until)
    last = anchor + repeat_step(unit, every, count)
    while (when := anchor + repeat_step(unit, every, count + 1)) <= until:
        last, count = when, count + 1
    return last


def _first_count(anchor: date, unit: RepeatUnit, every: int, start: date) -> int:
    # Skip straight to near ``start`` instead of walking from an anchor years back.
    if start <= anchor:
        return 0
    days = (start - anchor).days
    approx = {
        RepeatUnit.DAY: days // every,
        RepeatUnit.WEEK: days // (7 * every),
        RepeatUnit.MONTH: days // (31 * every),
        RepeatUnit.YEAR: days // (366 * every),
    }[unit]
    return max(0, approx - 1)
