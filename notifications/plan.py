"""What to push and when, for one owner: pure functions over plain facts.

The planner (``planner``) reads the facts and stores what this module decides; which events
are due is ``insights.agenda``'s, shared with the agenda (``upcoming``), so the home screen
and the pushes can never disagree about what is due.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from insights.agenda import collect_events
from model.agenda import ContactFacts, Event, Kind, Owner, ReminderFacts
from notifications.timing import send_time


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
