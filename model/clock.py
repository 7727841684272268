"""Wall time as a dependency, so tests can set it, and the local day it is in a time zone."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is put; tests move it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def to_ms(moment: datetime) -> int:
    """Return milliseconds since the Unix epoch."""
    return int(moment.timestamp() * 1000)


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The zone named ``name``, kept: ZoneInfo's own cache holds only a handful strongly, and
    a planning pass across many zones would otherwise read the tz database over and over."""
    return ZoneInfo(name)


def local_today(now: datetime, time_zone: str) -> date:
    """The date a wall clock in ``time_zone`` shows at ``now``."""
    return now.astimezone(zone(time_zone)).date()
