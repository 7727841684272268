"""When, in UTC, to send something due on a local day.

The owner's preferred hour on that day in their IANA time zone, plus a small per-owner jitter
so a million phones are not all pushed at 09:00:00, moved out of quiet hours. Computed per
date with the zone's rules, so daylight-saving changes never shift the local hour.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from model.agenda import Preferences
from model.clock import zone

MAX_JITTER_MINUTES = 10
# Moved out of late-evening quiet hours, a push goes this long before they begin.
BEFORE_QUIET = timedelta(minutes=15)


def jitter_for(owner_id: UUID) -> int:
    """A stable number of minutes in [0, MAX_JITTER_MINUTES) for this owner."""
    digest = hashlib.blake2b(owner_id.bytes, digest_size=2).digest()
    return int.from_bytes(digest) % MAX_JITTER_MINUTES


def to_utc(day: date, at: time, time_zone: str) -> datetime:
    """The instant a wall clock in ``time_zone`` shows ``at`` on ``day``.

    A time skipped by a spring-forward change is read with the offset before the change, so it
    lands just after the gap (02:30 becomes 03:30); a repeated autumn time takes its first.
    """
    local = datetime.combine(day, at, tzinfo=zone(time_zone))
    return local.astimezone(UTC)


@functools.lru_cache(maxsize=65536)
def send_time(day: date, prefs: Preferences, at: time | None = None) -> datetime:
    """The UTC instant to send something due on local ``day``.

    ``at`` is a time the user chose (a reminder's time): it is kept as it is. Otherwise the
    preferred hour plus jitter, moved out of quiet hours within the same local day: to their
    end when they run past midnight into the morning, else to shortly before they begin.
    Kept: owners with the same settings share their answers within a planning pass.
    """
    if at is not None:
        return to_utc(day, at, prefs.time_zone)
    wall = datetime.combine(day, time(prefs.hour)) + timedelta(minutes=prefs.jitter_minutes)
    moved = _out_of_quiet(wall, prefs.quiet_start, prefs.quiet_end)
    return to_utc(moved.date(), moved.time(), prefs.time_zone)


def in_quiet_hours(at: time, start: time | None, end: time | None) -> bool:
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end  # the quiet hours wrap midnight


def _out_of_quiet(wall: datetime, start: time | None, end: time | None) -> datetime:
    if start is None or end is None or not in_quiet_hours(wall.time(), start, end):
        return wall
    day = wall.date()
    if start < end or wall.time() < end:
        return datetime.combine(day, end)  # later the same morning or day
    # Late evening, quiet until tomorrow: earlier, the same day, before the quiet begins.
    return max(datetime.combine(day, start) - BEFORE_QUIET, datetime.combine(day, time(0)))
