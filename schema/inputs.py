"""Input types. An update input changes only the fields it names; ``null`` clears a field."""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import Enum
from typing import Any

import strawberry
from pydantic.alias_generators import to_camel

from schema.enums import Channel, Importance, InteractionKind, Stage


@strawberry.input
class LabeledValueInput:
    value: str
    label: str = ""


@strawberry.input
class BirthdayInput:
    month: int
    day: int
    year: int | None = None


@strawberry.input(description="Fields of a contact. Omitted fields stay as they are.")
class UpdateContactInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    company: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    emails: list[LabeledValueInput] | None = strawberry.UNSET
    phones: list[LabeledValueInput] | None = strawberry.UNSET
    urls: list[LabeledValueInput] | None = strawberry.UNSET
    birthday: BirthdayInput | None = strawberry.UNSET
    work_started_on: dt.date | None = strawberry.UNSET
    how_we_met: str | None = strawberry.UNSET
    introduced_by_id: strawberry.ID | None = strawberry.UNSET
    interests: list[str] | None = strawberry.UNSET
    preferred_channel: Channel | None = strawberry.UNSET
    communication_notes: str | None = strawberry.UNSET
    cadence_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="Keep in touch every N days (1-3650)."
    )
    snoozed_until: dt.date | None = strawberry.UNSET
    stage: Stage | None = strawberry.UNSET
    importance: Importance | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    lead_days: list[int] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Days before their birthday and work anniversary to notify (0-365).",
    )
    is_target: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Someone you want to meet (see `targets`)."
    )
    target_reason: str | None = strawberry.field(
        default=strawberry.UNSET, description="Why they matter (up to 500 characters)."
    )
    target_goal_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="One of your living networking goals."
    )
    research_notes: str | None = strawberry.UNSET


@strawberry.input(description="A new contact; only firstName is required.")
class CreateContactInput(UpdateContactInput):
    first_name: str


@strawberry.input
class UpdateInteractionInput:
    contact_ids: list[strawberry.ID] | None = strawberry.UNSET
    kind: InteractionKind | None = strawberry.UNSET
    occurred_at: dt.datetime | None = strawberry.UNSET
    summary: str | None = strawberry.UNSET
    body: str | None = strawberry.UNSET
    given: str | None = strawberry.UNSET
    received: str | None = strawberry.UNSET


@strawberry.input(description="An interaction with one or more contacts.")
class LogInteractionInput(UpdateInteractionInput):
    contact_ids: list[strawberry.ID]
    kind: InteractionKind = InteractionKind.NOTE
    occurred_at: dt.datetime | None = strawberry.field(
        default=None, description="When it happened; now when omitted."
    )


@strawberry.input
class CreateTagInput:
    name: str
    color: str | None = strawberry.field(default=strawberry.UNSET, description="#RRGGBB")


@strawberry.input
class SignUpInput:
    email: str
    password: str = strawberry.field(description="At least 10 characters.")
    display_name: str = ""
    time_zone: str = strawberry.field(default="UTC", description="IANA name, e.g. Europe/Berlin.")


@strawberry.input
class SignInInput:
    email: str
    password: str


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str = strawberry.field(description="At least 10 characters, as at sign-up.")


@strawberry.input
class DeleteAccountInput:
    password: str | None = strawberry.field(
        default=None, description="Your current password, as proof it is you."
    )
    firebase_id_token: str | None = strawberry.field(
        default=None,
        description="For an account made by Firebase sign-in: an ID token from a sign-in "
        "in the last 5 minutes, instead of a password.",
    )


@strawberry.input
class UpdateMeInput:
    display_name: str | None = strawberry.UNSET
    time_zone: str | None = strawberry.UNSET
    reminder_hour: int | None = strawberry.UNSET
    quiet_hours_start: dt.time | None = strawberry.UNSET
    quiet_hours_end: dt.time | None = strawberry.UNSET
    daily_digest: bool | None = strawberry.UNSET
    sentiment_enabled: bool | None = strawberry.UNSET
    lead_days: LeadDaysInput | None = strawberry.UNSET


@strawberry.input(
    description="Days before each kind of event to notify (0-365 each). Kinds left out keep "
    "their lists."
)
class LeadDaysInput:
    birthday: list[int] | None = strawberry.UNSET
    anniversary: list[int] | None = strawberry.UNSET
    follow_up: list[int] | None = strawberry.UNSET
    reminder: list[int] | None = strawberry.UNSET


@strawberry.input
class ContactFilter:
    search: str | None = strawberry.field(
        default=None, description="Words in the name, company, title or emails."
    )
    tag_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Contacts carrying any of these tags."
    )
    company: str | None = strawberry.field(default=None, description="Exact company, any case.")
    stages: list[Stage] | None = None
    follow_up_due_before: dt.datetime | None = None
    birthday_within_days: int | None = strawberry.field(
        default=None, description="Birthdays from today through N days ahead (0-366)."
    )


def to_patch(value: Any) -> Any:
    """Turn an input object into the camelCase patch the write path takes, dropping UNSET."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            to_camel(f.name): to_patch(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not strawberry.UNSET
        }
    if isinstance(value, list):
        return [to_patch(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value
