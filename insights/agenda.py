"""What is due on which local day, for one owner: pure functions over the facts.

The agenda (``upcoming``) lists these events; the planner (``notifications.plan``) pushes
them with their lead times; ``completeReminder`` marks ``due_occurrence`` done. One set of
rules, so the home screen and the pushes can never disagree about what is due.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from insights.calendar import last_repeat, next_repeat, repeats_between, yearly_between
from model.agenda import DEFAULT_LEADS, ContactFacts, Due, Event, Kind, Owner, ReminderFacts
from model.clock import zone


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
