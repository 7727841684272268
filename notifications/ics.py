"""The iCalendar (RFC 5545) text of a user's dates: a plain function over database rows.

- Birthdays and work anniversaries: all-day events repeating yearly. Feb 29 falls on Feb 28
  in common years, as for pushes (docs/notifications.md): ``BYMONTHDAY=28,29;BYSETPOS=-1``.
- Reminders: on their due day, at their due time in the owner's time zone (``TZID``, so a
  calendar app keeps 9:00 at 9:00 across a daylight-saving change) or all day, repeating as
  ``repeatUnit``/``repeatEvery`` say. Month ends clamp as insights.calendar counts them
  (Jan 31 monthly: Feb 28, Mar 31, Apr 30) with ``BYMONTHDAY=28,…,31;BYSETPOS=-1``. A done
  one-off reminder is left out; a repeating one starts at its first occurrence not done.
- Follow-ups due: an all-day event on the owner's local day of ``next_follow_up_at``.

Every event's UID is stable (kind and row id), so a calendar app updates instead of adding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from insights.calendar import next_repeat
from model.enums import RepeatUnit

PRODID = "-//Rapport//Calendar feed//EN"
_FREQ = {
    RepeatUnit.DAY: "DAILY",
    RepeatUnit.WEEK: "WEEKLY",
    RepeatUnit.MONTH: "MONTHLY",
    RepeatUnit.YEAR: "YEARLY",
}


def build_calendar(
    *,
    time_zone: str,
    contacts: Iterable[Mapping[Any, Any]],
    reminders: Iterable[Mapping[Any, Any]],
    now: datetime,
    name: str = "Rapport",
) -> bytes:
    """Return the iCalendar text of living ``contacts`` and ``reminders`` rows of one owner.

    The rows hold at least the columns ``store.calendar.load_calendar_rows`` selects.
    """
    zone = ZoneInfo(time_zone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", time_zone)
    for contact in contacts:
        for event in _contact_events(contact, zone):
            event.add("dtstamp", now)
            calendar.add_component(event)
    for reminder in reminders:
        due = _reminder_event(reminder, zone)
        if due is not None:
            due.add("dtstamp", now)
            calendar.add_component(due)
    # A VTIMEZONE for each TZID used, which RFC 5545 asks for and some apps need; its
    # transitions listed well past any reminder a user keeps.
    calendar.add_missing_timezones(last_date=date(now.year + 30, 1, 1))
    text: bytes = calendar.to_ical()
    return text


def contact_name(contact: Mapping[Any, Any]) -> str:
    name = f"{contact['first_name'] or ''} {contact['last_name'] or ''}".strip()
    return name or "A contact"


def _yearly(month: int, day: int) -> dict[str, Any]:
    if month == 2 and day == 29:
        return {"freq": "YEARLY", "bymonth": 2, "bymonthday": [28, 29], "bysetpos": -1}
    return {"freq": "YEARLY"}


def _all_day(uid: str, summary: str, day: date) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("summary", summary)
    event.add("dtstart", day)
    event.add("transp", "TRANSPARENT")
    return event


def _contact_events(contact: Mapping[Any, Any], zone: ZoneInfo) -> Iterable[Event]:
    name = contact_name(contact)
    ident = contact["id"]
    month, day = contact["birthday_month"], contact["birthday_day"]
    if month is not None and day is not None:
        # Without a year, 2000 (a leap year, so Feb 29 is a real first occurrence).
        first = date(contact["birthday_year"] or 2000, month, day)
        event = _all_day(f"birthday-{ident}@rapport", f"{name}'s birthday", first)
        event.add("rrule", _yearly(month, day))
        yield event
    started: date | None = contact["work_started_on"]
    if started is not None:
        company = f" at {contact['company']}" if contact["company"] else ""
        summary = f"{name}'s work anniversary{company}"
        event = _all_day(f"anniversary-{ident}@rapport", summary, started)
        event.add("rrule", _yearly(started.month, started.day))
        yield event
    follow_up: datetime | None = contact["next_follow_up_at"]
    if follow_up is not None:
        day_due = follow_up.astimezone(zone).date()
        yield _all_day(f"follow-up-{ident}@rapport", f"Follow up with {name}", day_due)


def _reminder_event(reminder: Mapping[Any, Any], zone: ZoneInfo) -> Event | None:
    due_on: date = reminder["due_on"]
    unit = RepeatUnit(reminder["repeat_unit"]) if reminder["repeat_unit"] else None
    every: int = reminder["repeat_every"] or 1
    done: date | None = reminder["completed_through"]
    first = due_on
    if unit is None:
        if reminder["completed_at"] is not None or (done is not None and done >= due_on):
            return None
        snoozed: date | None = reminder["snoozed_until"]
        if snoozed is not None and snoozed > due_on:
            first = snoozed
    elif done is not None and done >= due_on:
        first = next_repeat(due_on, unit, every, done)
    event = Event()
    event.add("uid", f"reminder-{reminder['id']}@rapport")
    event.add("summary", reminder["title"])
    if reminder["notes"]:
        event.add("description", reminder["notes"])
    at: time | None = reminder["due_time"]
    event.add("dtstart", first if at is None else datetime.combine(first, at, tzinfo=zone))
    if unit is not None:
        rule: dict[str, Any] = {"freq": _FREQ[unit]}
        if every > 1:
            rule["interval"] = every
        if unit is RepeatUnit.MONTH and due_on.day > 28:
            rule |= {"bymonthday": list(range(28, due_on.day + 1)), "bysetpos": -1}
        elif unit is RepeatUnit.YEAR and (due_on.month, due_on.day) == (2, 29):
            rule |= _yearly(2, 29)
        event.add("rrule", rule)
    return event
