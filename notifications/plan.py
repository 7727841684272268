"""What to push and when, for one owner: pure functions over plain facts.

The planner (``planner``) reads the facts and stores what this module decides; which events
are due is ``insights.agenda``'s, shared with the agenda (``upcoming``), so the home screen
and the pushes can never disagree about what is due.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from insights.agenda import collect_events
from model.agenda import ContactFacts, Event, Kind, Owner, ReminderFacts
from notifications.timing import send_time
from notifications.wording import ENGLISH, wording

# Rows keep their English text (what the history shows, and what English devices get); the
# worker words the push again for a device in another language from the facts kept beside it.
_ENGLISH = wording(ENGLISH)


@dataclass(slots=True)
class Planned:
    """One push to send: the unique key, when, what it says in English, and what about."""

    kind: Kind
    subject_id: UUID
    occurrence: date
    lead_days: int
    local_date: date
    send_at: datetime
    title: str
    body: str
    data: dict[str, str]
    # The contact's name or the reminder's title, and the age or the years at work: what the
    # worker words the push from in a device's language.
    subject_name: str
    years: int | None


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
                    subject_name=event.title,
                    years=event.years,
                )
            )
    return planned


def describe(event: Event, lead: int) -> tuple[str, str]:
    """The English title and body of a push about ``event``, ``lead`` days ahead."""
    return _ENGLISH.describe(event.kind, event.title, event.years, lead, event.day)


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
