"""What is due, as plain facts: the agenda's and the planner's shared vocabulary.

The owner's settings, their contacts' dates and their reminders go in; events due on local
days come out (``insights.agenda`` decides which).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from uuid import UUID

from model.enums import RepeatUnit

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
class Preferences:
    """When an owner wants pushes: their zone, hour and quiet hours, and a per-owner jitter."""

    time_zone: str
    hour: int
    quiet_start: time | None = None
    quiet_end: time | None = None
    jitter_minutes: int = 0


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
