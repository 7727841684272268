"""The range of dates and times the API accepts, and IANA time zone names."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime

from model.text import check_text

# The one range of every date and time the API accepts. Years outside it are typing slips, and
# stepping a repeat, a goal's period or a time zone's offset from one towards date.max or
# date.min would overflow the arithmetic (Python's and PostgreSQL's).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)


def check_date(value: date) -> str | None:
    """Return why ``value`` is outside the range of dates we keep, or None when it is inside."""
    day = value.date() if isinstance(value, datetime) else value
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"use a date from {FIRST_DAY} to {LAST_DAY}, not {value.isoformat()}"


def check_instant(value: datetime) -> str | None:
    """Return why ``value`` is outside the range, as given or in UTC; None when inside both."""
    inside = check_date(value) is None
    if inside and value.tzinfo is not None:
        # Inside the range, the conversion cannot overflow; an offset may still cross an end.
        inside = check_date(value.astimezone(UTC)) is None
    if inside:
        return None
    return (
        f"use a time from {FIRST_DAY}T00:00:00Z to {LAST_DAY}T23:59:59Z, in UTC and as sent, "
        f"not {value.isoformat()}"
    )


def _date_in_range(value: date) -> date:
    if (problem := check_date(value)) is not None:
        raise ValueError(problem)
    return value


def _instant_in_range(value: datetime) -> datetime:
    if (problem := check_instant(value)) is not None:
        raise ValueError(problem)
    return value


CalendarDate = Annotated[date, AfterValidator(_date_in_range)]
Instant = Annotated[AwareDatetime, AfterValidator(_instant_in_range)]

# The longest IANA name is 32 characters; a longer one is refused before any file lookup.
MAX_TIME_ZONE = 64


def check_time_zone(name: str) -> str | None:
    """Return why ``name`` is not an IANA time zone, or None when it is one."""
    if len(name) > MAX_TIME_ZONE or check_text(name) is not None:
        return (
            "is not an IANA time zone; use a name like 'Europe/Berlin' "
            f"(at most {MAX_TIME_ZONE} characters)"
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"{name!r} is not an IANA time zone; use a name like 'Europe/Berlin'"
    return None
