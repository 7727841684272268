"""What to send and when, for one owner: pure functions over plain facts.

The planner (``planner``) reads the facts and stores what this module decides; the agenda
(``upcoming``) shows the same events without lead times. Keeping both here means the home
screen and the pushes can never disagree about what is due.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from model.clock import zone
from model.enums import RepeatUnit
from notifications.calendar import last_repeat, next_repeat, repeats_between, yearly_between
from notifications.timing import Preferences, send_time

MAX_LEAD_DAYS = 365
DEFAULT_LEADS: Mapping[str, Sequence[int]] = {
    "birthday": (0, 7),
    "anniversary": (0,),
    "followUp": (0,),
    "reminder": (0,),
}


class Kind(StrEnum):
    BIRTHDAY = "BIRTHDAY"
    ANNIVERSARY = "ANNIVERSARY"
    FOLLOW_UP = "FOLLOW_UP"
    REMINDER = "REMINDER"


# The key of each kind in the owner's lead-day settings.
LEAD_KEY = {
    Kind.BIRTHDAY: "birthday",
    Kind.ANNIVERSARY: "anniversary",
    Kind.FOLLOW_UP: "followUp",
    Kind.REMINDER: "reminder",
}


@dataclass(frozen=True)
class Owner:
    id: UUID
    prefs: Preferences
    lead_days: Mapping[str, Sequence[int]] = field(default_factory=lambda: DEFAULT_LEADS)


# Built by the hundred thousand in a planning pass: slots, and not frozen (a frozen
# dataclass sets each field through object.__setattr__, several times slower).
@dataclass(slots=True)
class ContactFacts:
    id: UUID
    name: str
    company: str | None = None
    birthday_month: int | None = None
    birthday_day: int | None = None
    birthday_year: int | None = None
    work_started_on: date | None = None
    next_follow_up_at: datetime | None = None
    lead_days: Sequence[int] | None = None


@dataclass(slots=True)
class ReminderFacts:
    id: UUID
    title: str
    due_on: date
    due_time: time | None = None
    repeat_unit: RepeatUnit | None = None
    repeat_every: int | None = None
    lead_days: Sequence[int] | None = None
    snoozed_until: date | None = None
    # The last occurrence the user marked done.
    completed_through: date | None = None
    contact_id: UUID | None = None
    contact_name: str | None = None
    notes: str | None = None


@dataclass(slots=True)
class Event:
    """Something due on a local day: a birthday, an anniversary, a follow-up, a reminder."""

    kind: Kind
    subject_id: UUID
    # The occurrence it is about, the date in the push's unique key; a snoozed reminder's is
    # its snooze day (what completing it marks done is ``due_occurrence``'s business).
    occurrence: date
    # The local day it is listed on: its own day, or the first day asked for when overdue.
    day: date
    title: str
    contact_id: UUID | None = None
    reminder_id: UUID | None = None
    # Years turned (a birthday with a known year) or completed (a work anniversary).
    years: int | None = None
    # Overdue follow-ups and reminders are listed today; this keeps the day they fell due.
    due_since: date | None = None
    at: time | None = None
    leads: Sequence[int] = (0,)


@dataclass(frozen=True, slots=True)
class Due:
    """A reminder's occurrence due now, and what it covers."""

    # The first occurrence not completed; behind schedule, the latest one up to today.
    occurrence: date
    # The day it is shown and pushed on: the snooze day when snoozed past the occurrence.
    day: date
    # What completing it marks done: the occurrence, and with a snooze every later
    # occurrence on or before the snooze day (the snooze covered them; none is shown).
    through: date


@dataclass(slots=True)
class Planned:
    """One push to send: the unique key, when, and what it says."""

    kind: Kind
    subject_id: UUID
    occurrence: date
    lead_days: int
    local_date: date
    send_at: datetime
    title: str
    body: str
    data: dict[str, str]


def collect_events(
    owner: Owner,
    contacts: Iterable[ContactFacts],
    reminders: Iterable[ReminderFacts],
    start: date,
    end: date,
    *,
    overdue: bool = True,
    ordered: bool = True,
) -> list[Event]:
    """Every event whose day falls in ``start``..``end`` (local), overdue ones on ``start``.

    ``start`` is the owner's local today. The agenda lists follow-ups and reminders that are
    overdue; pushes go only for events whose own day is today or later (``overdue=False``):
    a user behind on thirty people would not want thirty pushes, and one whose day passed
    while no worker ran is marked missed rather than sent a day late.
    Events come by day, overdue ones first, then kind and title, unless ``ordered`` is false
    (the planner's case).
    """
    events: list[Event] = []
    tz = zone(owner.prefs.time_zone)
    for contact in contacts:
        events.extend(_contact_events(owner, contact, start, end, tz, overdue))
    for reminder in reminders:
        events.extend(_reminder_events(owner, reminder, start, end, overdue))
    if ordered:
        # Overdue ones, listed today, fell due before it: they come first, oldest first.
        events.sort(key=lambda e: (e.day, e.due_since or e.day, e.kind, e.title, e.subject_id))
    return events


def plan_pushes(
    owner: Owner,
    contacts: Iterable[ContactFacts],
    reminders: Iterable[ReminderFacts],
    today: date,
    horizon_days: int,
) -> list[Planned]:
    """The pushes to send from ``today`` to ``today + horizon_days`` (local days).

    Each has its own unique key: a reminder's occurrences are distinct dates, and those a
    snooze covers are left out rather than pushed on the snooze day beside it.
    """
    last = today + timedelta(days=horizon_days)
    # An event far enough ahead still needs its early reminders planned now.
    reach = max([0, *(max(v, default=0) for v in owner.lead_days.values())])
    reach = max(reach, *_override_reach(contacts, reminders))
    events = collect_events(
        owner,
        contacts,
        reminders,
        today,
        last + timedelta(days=reach),
        overdue=False,
        ordered=False,
    )
    planned: list[Planned] = []
    for event in events:
        for lead in sorted(set(event.leads)):
            day = event.day - timedelta(days=lead)
            if not today <= day <= last:
                continue
            at = event.at if lead == 0 else None
            title, body = describe(event, lead)
            planned.append(
                Planned(
                    kind=event.kind,
                    subject_id=event.subject_id,
                    occurrence=event.occurrence,
                    lead_days=lead,
                    local_date=day,
                    send_at=send_time(day, owner.prefs, at),
                    title=title,
                    body=body,
                    data=_payload(event),
                )
            )
    return planned


def describe(event: Event, lead: int) -> tuple[str, str]:
    """The title and body of a push about ``event``, ``lead`` days ahead."""
    when = _when(event.day, lead)
    match event.kind:
        case Kind.BIRTHDAY:
            turning = f" (turns {event.years})" if event.years else ""
            return f"{event.title}'s birthday {when}{turning}", "Send them a note."
        case Kind.ANNIVERSARY:
            years = f"{event.years} year{'s' if event.years != 1 else ''}"
            return f"{event.title}: {years} at work {when}", "Congratulate them."
        case Kind.FOLLOW_UP:
            soon = f" {when}" if lead else ""
            return f"Time to catch up with {event.title}{soon}", "It has been a while; say hello."
        case Kind.REMINDER:
            return event.title, f"Due {when}."


# A pass asks for the same few (day, lead) phrases a hundred thousand times.
@functools.lru_cache(maxsize=1024)
def _when(day: date, lead: int) -> str:
    if lead == 0:
        return "today"
    if lead == 1:
        return "tomorrow"
    return f"in {lead} days ({day.strftime('%b')} {day.day})"


def _payload(event: Event) -> dict[str, str]:
    data = {"kind": event.kind.value, "occurrence": event.occurrence.isoformat()}
    if event.contact_id is not None:
        data["contactId"] = str(event.contact_id)
    if event.reminder_id is not None:
        data["reminderId"] = str(event.reminder_id)
    return data


def _override_reach(
    contacts: Iterable[ContactFacts], reminders: Iterable[ReminderFacts]
) -> list[int]:
    leads = [max(c.lead_days, default=0) for c in contacts if c.lead_days]
    leads += [max(r.lead_days, default=0) for r in reminders if r.lead_days]
    return [max(leads, default=0)]


def _contact_events(
    owner: Owner,
    contact: ContactFacts,
    start: date,
    end: date,
    zone: ZoneInfo,
    overdue: bool,
) -> Iterable[Event]:
    if contact.birthday_month and contact.birthday_day:
        leads = contact.lead_days or owner.lead_days.get("birthday", DEFAULT_LEADS["birthday"])
        for day in yearly_between(contact.birthday_month, contact.birthday_day, start, end):
            age = day.year - contact.birthday_year if contact.birthday_year else None
            yield Event(
                Kind.BIRTHDAY,
                contact.id,
                day,
                day,
                contact.name,
                contact_id=contact.id,
                years=age if age and age > 0 else None,
                leads=leads,
            )
    started = contact.work_started_on
    if started is not None:
        leads = contact.lead_days or owner.lead_days.get(
            "anniversary", DEFAULT_LEADS["anniversary"]
        )
        for day in yearly_between(started.month, started.day, start, end):
            if day.year > started.year:
                yield Event(
                    Kind.ANNIVERSARY,
                    contact.id,
                    day,
                    day,
                    contact.name,
                    contact_id=contact.id,
                    years=day.year - started.year,
                    leads=leads,
                )
    if contact.next_follow_up_at is not None:
        due = contact.next_follow_up_at.astimezone(zone).date()
        if due <= end and (due >= start or overdue):
            yield Event(
                Kind.FOLLOW_UP,
                contact.id,
                due,
                max(due, start),
                contact.name,
                contact_id=contact.id,
                due_since=due if due < start else None,
                leads=owner.lead_days.get("followUp", DEFAULT_LEADS["followUp"]),
            )


def due_occurrence(reminder: ReminderFacts, today: date) -> Due | None:
    """The reminder's occurrence due now (local ``today``); None once it is done for good.

    The agenda shows it, the planner pushes it, completeReminder marks it done: one answer
    for all three. A repeating reminder behind schedule is caught up to its latest
    occurrence on or before today (the missed ones are not all due at once); a snooze past
    that occurrence moves it to the snooze day and covers the occurrences in between.
    """
    done = reminder.completed_through
    unit, every = reminder.repeat_unit, reminder.repeat_every or 1
    if done is None or done < reminder.due_on:
        first = reminder.due_on
    elif unit is None:
        return None
    else:
        first = next_repeat(reminder.due_on, unit, every, done)
    due = first
    if unit is not None and first < today:
        due = last_repeat(reminder.due_on, unit, every, today) or first
    snoozed = reminder.snoozed_until
    if snoozed is None or snoozed <= due:
        return Due(due, due, due)
    through = due if unit is None else last_repeat(reminder.due_on, unit, every, snoozed) or due
    return Due(due, snoozed, through)


def _reminder_events(
    owner: Owner, reminder: ReminderFacts, start: date, end: date, overdue: bool
) -> Iterable[Event]:
    due = due_occurrence(reminder, start)
    if due is None:
        return
    leads = reminder.lead_days or owner.lead_days.get("reminder", DEFAULT_LEADS["reminder"])
    if due.day <= end and (due.day >= start or overdue):
        # Keyed on the day it is due: a snooze after the first push was sent makes a new push
        # (the sent one is history, and a key already sent is never planned again). Still
        # unique: the occurrences up to the snooze day are covered, not listed.
        yield _reminder_event(reminder, due.day, due.day, start, leads)
    if reminder.repeat_unit is not None:
        # Counted from the first due date, so month ends never drift; the occurrences the
        # snooze covers are not due again.
        for day in repeats_between(
            reminder.due_on,
            reminder.repeat_unit,
            reminder.repeat_every or 1,
            due.through + timedelta(days=1),
            end,
        ):
            yield _reminder_event(reminder, day, day, start, leads)


def _reminder_event(
    reminder: ReminderFacts, occurrence: date, day: date, start: date, leads: Sequence[int]
) -> Event:
    return Event(
        Kind.REMINDER,
        reminder.id,
        occurrence,
        max(day, start),
        reminder.title,
        contact_id=reminder.contact_id,
        reminder_id=reminder.id,
        due_since=day if day < start else None,
        at=reminder.due_time,
        leads=leads,
    )
