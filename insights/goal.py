"""Networking goals: which window a goal is measured over, and how far along it is.

A goal has a target and a period. A recurring period (week, month, quarter, year) counts
afresh in each window from the goal's start; a custom period is one window, from the start
to the end date. Progress is counted from the data (the items that counted are returned), never
entered by hand.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Generic, TypeVar

from model.dates import check_date
from model.enums import Metric, Period

K = TypeVar("K")

# A contact is dormant after this long without an interaction; the first interaction after it
# is a reconnection.
DORMANT_AFTER = timedelta(days=90)


@dataclass(frozen=True)
class Window:
    start: date
    # The last day counted (inclusive).
    end: date


@dataclass(frozen=True)
class Item(Generic[K]):
    key: K
    at: datetime
    label: str


@dataclass(frozen=True)
class Progress(Generic[K]):
    current: int
    target: int
    done: bool
    window: Window
    items: tuple[Item[K], ...]


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _step(start: date, period: Period, n: int) -> date:
    if period is Period.WEEK:
        return start + timedelta(weeks=n)
    months = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}[period]
    return _add_months(start, months * n)


def current_window(
    period: Period, starts_on: date, ends_on: date | None, today: date
) -> Window | None:
    """Return the window that holds ``today`` (the first one before the start, the last after).

    None when the window cannot be counted: its end would pass the last day a date can hold
    (a goal stored with a start in year 9999, from before dates were bounded), or it falls
    outside the dates the API accepts (``model.dates.check_date``).
    """
    try:
        window = _window(period, starts_on, ends_on, today)
    except (OverflowError, ValueError):
        # timedelta arithmetic past date.max raises OverflowError, date(10000, …) ValueError.
        return None
    if check_date(window.start) or check_date(window.end):
        return None
    return window


def _window(period: Period, starts_on: date, ends_on: date | None, today: date) -> Window:
    if period is Period.CUSTOM:
        return Window(starts_on, ends_on if ends_on is not None else today)
    n = 0
    if today >= starts_on:
        # Jump close first, then walk: a weekly goal started years ago takes a few steps.
        span = (_step(starts_on, period, 1) - starts_on).days
        n = max(0, (today - starts_on).days // span - 1)
        while _step(starts_on, period, n + 1) <= today:
            n += 1
    start = _step(starts_on, period, n)
    end = _step(starts_on, period, n + 1) - timedelta(days=1)
    if ends_on is not None:
        if start > ends_on:
            return _window(period, starts_on, ends_on, ends_on)
        end = min(end, ends_on)
    return Window(start, end)


def measure_goal(target: int, window: Window, items: Sequence[Item[K]]) -> Progress[K]:
    """Count the items inside the window, oldest first."""
    inside = sorted(
        (i for i in items if window.start <= i.at.date() <= window.end), key=lambda i: i.at
    )
    return Progress(
        current=len(inside),
        target=target,
        done=len(inside) >= target,
        window=window,
        items=tuple(inside),
    )


def find_reconnections(
    history: Mapping[K, Sequence[datetime]], labels: Mapping[K, str], window: Window
) -> list[Item[K]]:
    """Return, per contact, the first interaction in the window after a dormant gap."""
    found: list[Item[K]] = []
    for key, times in history.items():
        ordered = sorted(times)
        for before, at in itertools.pairwise(ordered):
            if window.start <= at.date() <= window.end and at - before >= DORMANT_AFTER:
                found.append(Item(key=key, at=at, label=labels.get(key, "")))
                break
    return found


def measure_rows(
    metric: Metric,
    target: int,
    window: Window,
    rows: Sequence[Mapping[Any, Any]],
    zone: tzinfo,
) -> Progress[Any]:
    """Progress from ``store.networking.goal_items`` rows (key, at, label), at local times.

    For RECONNECT_DORMANT the rows are every interaction's time, and only the first after a
    dormant gap counts; for the other metrics each row is an item.
    """
    if metric is Metric.RECONNECT_DORMANT:
        history: dict[Any, list[datetime]] = {}
        labels: dict[Any, str] = {}
        for row in rows:
            history.setdefault(row["key"], []).append(row["at"].astimezone(zone))
            labels[row["key"]] = row["label"]
        items = find_reconnections(history, labels, window)
    else:
        items = [Item(r["key"], r["at"].astimezone(zone), r["label"] or "") for r in rows]
    return measure_goal(target, window, items)
