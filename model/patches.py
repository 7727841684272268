"""The fields a client may write, their rules, and how to check a patch against them.

A patch names only the fields it changes (camelCase, as the API and the sync protocol spell
them); fields it does not name are never touched. Unknown fields are refused.
"""

from __future__ import annotations

import calendar
from datetime import time
from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    PlainSerializer,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from model.dates import CalendarDate, Instant, check_time_zone
from model.enums import (
    AttendeeStatus,
    Channel,
    Importance,
    InteractionKind,
    Metric,
    Period,
    RepeatUnit,
    Stage,
)
from model.errors import FieldError, ValidationFailed
from model.text import (
    MAX_NAME,
    MAX_SHORT,
    Label,
    LongText,
    Name,
    OptionalName,
    ShortText,
    check_text,
)


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and (problem := check_text(value)) is not None:
        raise ValueError(problem)
    return value


class _Patch(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; say so instead of failing at the database.
        if isinstance(value, list):
            return [_no_nul(v) for v in value]
        return _no_nul(value)


class EmailEntry(_Patch):
    label: Label = ""
    value: EmailStr


class PhoneEntry(_Patch):
    label: Label = ""
    value: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=3, max_length=40, pattern=r"^\+?[0-9 ().\-/]+$"
        ),
    ]


class UrlEntry(_Patch):
    label: Label = ""
    value: Annotated[HttpUrl, PlainSerializer(str, return_type=str)]


class Birthday(_Patch):
    month: Annotated[int, Field(ge=1, le=12)]
    day: Annotated[int, Field(ge=1, le=31)]
    year: Annotated[int | None, Field(ge=1900, le=2100)] = None

    @model_validator(mode="after")
    def _check_day(self) -> Birthday:
        # Without a year, Feb 29 is a valid birthday (it falls on Feb 28 in common years).
        days = calendar.monthrange(self.year if self.year is not None else 2000, self.month)[1]
        if self.day > days:
            where = (
                f"{calendar.month_name[self.month]} {self.year}"
                if self.year
                else calendar.month_name[self.month]
            )
            raise ValueError(f"{where} has {days} days; day {self.day} does not exist")
        return self


MAX_LEAD_DAYS = 365

# Defined before the patches that use it: a forward reference would leave the field without
# its camelCase alias until the model is first used, and the write path would not know it.
LeadDays = Annotated[
    list[Annotated[int, Field(ge=0, le=MAX_LEAD_DAYS)]], Field(min_length=1, max_length=10)
]


class ContactPatch(_Patch):
    first_name: Name | None = None
    last_name: OptionalName | None = None
    company: ShortText | None = None
    title: ShortText | None = None
    emails: Annotated[list[EmailEntry], Field(max_length=20)] | None = None
    phones: Annotated[list[PhoneEntry], Field(max_length=20)] | None = None
    urls: Annotated[list[UrlEntry], Field(max_length=20)] | None = None
    birthday: Birthday | None = None
    work_started_on: CalendarDate | None = None
    how_we_met: LongText | None = None
    introduced_by_id: UUID | None = None
    interests: Annotated[list[Label], Field(max_length=50)] | None = None
    preferred_channel: Channel | None = None
    communication_notes: ShortText | None = None
    cadence_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    snoozed_until: CalendarDate | None = None
    stage: Stage | None = None
    importance: Importance | None = None
    notes: LongText | None = None
    # Days before this contact's birthday and work anniversary to notify (overrides yours).
    lead_days: LeadDays | None = None
    # Someone to meet (a target): why they matter, the goal they serve, what was found out.
    is_target: bool | None = None
    target_reason: ShortText | None = None
    target_goal_id: UUID | None = None
    research_notes: LongText | None = None


class InteractionPatch(_Patch):
    contact_ids: Annotated[list[UUID], Field(min_length=1, max_length=50)] | None = None
    kind: InteractionKind | None = None
    occurred_at: Instant | None = None
    summary: ShortText | None = None
    body: LongText | None = None
    given: ShortText | None = None
    received: ShortText | None = None


class ReminderPatch(_Patch):
    title: Annotated[Name, StringConstraints(max_length=MAX_SHORT)] | None = None
    notes: LongText | None = None
    due_on: CalendarDate | None = None
    due_time: time | None = None
    repeat_unit: RepeatUnit | None = None
    repeat_every: Annotated[int, Field(ge=1, le=1000)] | None = None
    lead_days: LeadDays | None = None
    contact_id: UUID | None = None
    snoozed_until: CalendarDate | None = None
    # The last occurrence marked done (a one-time reminder: its due date).
    completed_through: CalendarDate | None = None


class LeadDaySettings(_Patch):
    birthday: LeadDays = [0, 7]
    anniversary: LeadDays = [0]
    follow_up: LeadDays = [0]
    reminder: LeadDays = [0]


class TagPatch(_Patch):
    name: Annotated[Name, StringConstraints(max_length=60)] | None = None
    color: Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")] | None = None


def _time_zone(name: str) -> str:
    problem = check_time_zone(name)
    if problem is not None:
        raise ValueError(problem)
    return name


class UserPatch(_Patch):
    display_name: OptionalName | None = None
    time_zone: Annotated[str, AfterValidator(_time_zone)] | None = None
    reminder_hour: Annotated[int, Field(ge=0, le=23)] | None = None
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    daily_digest: bool | None = None
    sentiment_enabled: bool | None = None
    lead_days: LeadDaySettings | None = None


class GoalPatch(_Patch):
    title: Name | None = None
    description: LongText | None = None
    metric: Metric | None = None
    target: Annotated[int, Field(ge=1, le=100_000)] | None = None
    period: Period | None = None
    starts_on: CalendarDate | None = None
    ends_on: CalendarDate | None = None
    tag_id: UUID | None = None
    archived: bool | None = None


class EventPatch(_Patch):
    name: Name | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    location: ShortText | None = None
    url: Annotated[HttpUrl, PlainSerializer(str, return_type=str)] | None = None
    notes: LongText | None = None


class AttendeePatch(_Patch):
    status: AttendeeStatus | None = None
    note: ShortText | None = None


# Fields that must be present when a row is created, with the message for their absence.
REQUIRED_ON_CREATE: dict[type[_Patch], dict[str, str]] = {
    ContactPatch: {"firstName": "is required"},
    InteractionPatch: {"contactIds": "name at least one contact", "occurredAt": "is required"},
    TagPatch: {"name": "is required"},
    ReminderPatch: {"title": "is required", "dueOn": "is required"},
    GoalPatch: {
        "title": "is required",
        "metric": "is required",
        "target": "is required",
        "period": "is required",
        "startsOn": "is required",
    },
    EventPatch: {"name": "is required", "startsAt": "is required"},
}

# Fields that may not be cleared (set to null) once set.
NOT_NULL: dict[type[_Patch], frozenset[str]] = {
    ContactPatch: frozenset(
        {
            "firstName",
            "lastName",
            "stage",
            "importance",
            "emails",
            "phones",
            "urls",
            "interests",
            "isTarget",
        }
    ),
    InteractionPatch: frozenset({"contactIds", "kind", "occurredAt", "summary"}),
    TagPatch: frozenset({"name"}),
    ReminderPatch: frozenset({"title", "dueOn"}),
    UserPatch: frozenset(
        {"displayName", "timeZone", "reminderHour", "dailyDigest", "sentimentEnabled", "leadDays"}
    ),
    GoalPatch: frozenset({"title", "metric", "target", "period", "startsOn", "archived"}),
    EventPatch: frozenset({"name", "startsAt"}),
    AttendeePatch: frozenset({"status"}),
}

P = TypeVar("P", bound=_Patch)


def _field_path(loc: tuple[int | str, ...]) -> str:
    # A key the client sent is echoed in the answer (and may be stored as a push's reason):
    # escape what cannot be stored or read, as repr would, and cut it to a readable length.
    path = ".".join(str(part) for part in loc) or "input"
    if not path.isprintable() or len(path) > MAX_NAME:
        path = repr(path[:MAX_NAME])[1:-1]
    return path


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "is not a field of this object; remove it"
    if kind == "value_error":
        # pydantic prefixes custom messages with "Value error, ".
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def validate_patch(model: type[P], data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Check a patch; return the fields it names as Python values, or raise ValidationFailed."""
    errors: list[FieldError] = []
    if creating:
        for name, message in REQUIRED_ON_CREATE.get(model, {}).items():
            if data.get(name) is None:
                errors.append(FieldError(name, message))
    for name in NOT_NULL.get(model, frozenset()):
        if (
            name in data
            and data[name] is None
            and not (creating and name in REQUIRED_ON_CREATE.get(model, {}))
        ):
            errors.append(FieldError(name, "cannot be cleared; send a value"))
    try:
        parsed = model.model_validate(data)
    except PydanticValidationError as exc:
        errors.extend(FieldError(_field_path(e["loc"]), _message(e)) for e in exc.errors())
    if errors:
        raise ValidationFailed(_dedupe(errors))
    # Only the fields sent, but nested values in full (a label left out is "", not missing).
    dumped = parsed.model_dump(by_alias=True, mode="python")
    return {key: dumped[key] for key in data}


def _dedupe(errors: list[FieldError]) -> list[FieldError]:
    seen: dict[tuple[str, str], FieldError] = {}
    for error in errors:
        seen.setdefault((error.field, error.message), error)
    return list(seen.values())
