"""calendar.ics of the export: birthdays as yearly all-day events, open reminders.

Kept apart and small on purpose: the calendar feed (issue 16) builds the full iCalendar
writer, and the export should call it once it exists. Written with vobject's iCalendar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import vobject
from dateutil import tz

PRODUCT = "-//Rapport//Export//EN"
_FREQ = {"DAY": "DAILY", "WEEK": "WEEKLY", "MONTH": "MONTHLY", "YEAR": "YEARLY"}


def write_calendar(rows: Iterable[Mapping[str, Any]], now: datetime) -> bytes:
    """Return an iCalendar file of birthday rows and reminder rows (archive.CALENDAR_ROWS)."""
    calendar = vobject.iCalendar()
    calendar.add("prodid").value = PRODUCT
    for row in rows:
        event = calendar.add("vevent")
        event.add("uid").value = f"{row['kind']}-{row['id']}@rapport"
        # vobject names only dateutil's UTC, not the standard library's.
        event.add("dtstamp").value = now.astimezone(tz.tzutc())
        if row["kind"] == "birthday":
            month, day = row["birthday_month"], row["birthday_day"]
            event.add("summary").value = f"{row['name'].strip()}'s birthday"
            # Year 2000 was a leap year, so Feb 29 is a valid first day; the rule's last day
            # of February puts it on Feb 28 in common years, as pushes do.
            event.add("dtstart").value = date(2000, month, day)
            rule = "FREQ=YEARLY"
            if (month, day) == (2, 29):
                rule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1"
            event.add("rrule").value = rule
        else:
            event.add("summary").value = row["name"]
            start: date | datetime = row["due_on"]
            if row["due_time"] is not None:
                start = datetime.combine(row["due_on"], row["due_time"])
            event.add("dtstart").value = start
            if row["repeat_unit"] in _FREQ:
                interval = row["repeat_every"] or 1
                event.add("rrule").value = f"FREQ={_FREQ[row['repeat_unit']]};INTERVAL={interval}"
    text: str = calendar.serialize()
    return text.encode()
