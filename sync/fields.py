"""The fields a client may write, their rules, and how to check a patch against them.

A patch names only the fields it changes (camelCase, as the API and the sync protocol spell
them); fields it does not name are never touched. Unknown fields are refused.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
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

from insights import goal
from sync.errors import FieldError, ValidationFailed

EXAMPLE_ID = "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f"
MAX_NAME = 200
MAX_SHORT = 500
MAX_TEXT = 100_000


class Stage(StrEnum):
    NEW = "NEW"
    ACQUAINTANCE = "ACQUAINTANCE"
    ACTIVE = "ACTIVE"
    CLOSE = "CLOSE"
    ARCHIVED = "ARCHIVED"


class Importance(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    VIP = "VIP"


class Channel(StrEnum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    SMS = "SMS"
    MESSAGING = "MESSAGING"
    VIDEO = "VIDEO"
    IN_PERSON = "IN_PERSON"


class InteractionKind(StrEnum):
    MEETING = "MEETING"
    CALL = "CALL"
    VIDEO = "VIDEO"
    EMAIL = "EMAIL"
    MESSAGE = "MESSAGE"
    MEAL = "MEAL"
    EVENT = "EVENT"
    NOTE = "NOTE"
    GIFT = "GIFT"
    INTRODUCTION = "INTRODUCTION"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME), AfterValidator(_not_blank)
]
OptionalName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_SHORT)]
LongText = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]


# What PostgreSQL text cannot hold: NUL, and UTF-16 surrogates that JSON's \\uD800 escapes can
# smuggle in unpaired (they have no UTF-8 encoding).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_text(value: str) -> str | None:
    """Return why ``value`` cannot be stored as text, or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    where = f"U+{ord(char):04X} at character {found.start() + 1}"
    if char == "\x00":
        return f"remove the NUL character ({where}); text cannot hold it"
    return f"remove the unpaired surrogate ({where}); send text as valid Unicode"


def find_hidden_character(value: str) -> str | None:
    """Describe the first control or invisible character in ``value``, if there is one."""
    if value.isprintable():
        # Python's "printable" is exactly "no Other, no Separator but the ASCII space".
        return None
    for position, char in enumerate(value, start=1):
        if not char.isprintable():
            return f"U+{ord(char):04X} at character {position}"
    return None


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


# The one range of every date and time the API accepts. Years outside it are typing slips, and
# stepping a repeat, a goal's period or a time zone's offset from one towards date.max or
# date.min would overflow the arithmetic (Python's and PostgreSQL's).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)


def check_date(value: date) -> str | None:
    """Return why ``value`` is outside the range of dates we keep, or None when it is inside."""
    day = value.date() if isinstance(value, datetime) else value
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"use a date from {FIRST_DAY} to {LAST_DAY}, not {value.isoformat()}"


def check_instant(value: datetime) -> str | None:
    """Return why ``value`` is outside the range, as given or in UTC; None when inside both."""
    inside = check_date(value) is None
    if inside and value.tzinfo is not None:
        # Inside the range, the conversion cannot overflow; an offset may still cross an end.
        inside = check_date(value.astimezone(UTC)) is None
    if inside:
        return None
    return (
        f"use a time from {FIRST_DAY}T00:00:00Z to {LAST_DAY}T23:59:59Z, in UTC and as sent, "
        f"not {value.isoformat()}"
    )


def _date_in_range(value: date) -> date:
    if (problem := check_date(value)) is not None:
        raise ValueError(problem)
    return value


def _instant_in_range(value: datetime) -> datetime:
    if (problem := check_instant(value)) is not None:
        raise ValueError(problem)
    return value


CalendarDate = Annotated[date, AfterValidator(_date_in_range)]
Instant = Annotated[AwareDatetime, AfterValidator(_instant_in_range)]


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


class RepeatUnit(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


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


# Fields that must be present when a row is created, with the message for their absence.
REQUIRED_ON_CREATE: dict[type[_Patch], dict[str, str]] = {
    ContactPatch: {"firstName": "is required"},
    InteractionPatch: {"contactIds": "name at least one contact", "occurredAt": "is required"},
    TagPatch: {"name": "is required"},
    ReminderPatch: {"title": "is required", "dueOn": "is required"},
}

# Fields that may not be cleared (set to null) once set.
NOT_NULL: dict[type[_Patch], frozenset[str]] = {
    ContactPatch: frozenset(
        {"firstName", "lastName", "stage", "importance", "emails", "phones", "urls", "interests"}
    ),
    InteractionPatch: frozenset({"contactIds", "kind", "occurredAt", "summary"}),
    TagPatch: frozenset({"name"}),
    ReminderPatch: frozenset({"title", "dueOn"}),
    UserPatch: frozenset(
        {"displayName", "timeZone", "reminderHour", "dailyDigest", "sentimentEnabled", "leadDays"}
    ),
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


# The longest IANA name is 32 characters; a longer one is refused before any file lookup.
MAX_TIME_ZONE = 64


def check_time_zone(name: str) -> str | None:
    """Return why ``name`` is not an IANA time zone, or None when it is one."""
    if len(name) > MAX_TIME_ZONE or check_text(name) is not None:
        return (
            "is not an IANA time zone; use a name like 'Europe/Berlin' "
            f"(at most {MAX_TIME_ZONE} characters)"
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"{name!r} is not an IANA time zone; use a name like 'Europe/Berlin'"
    return None


def parse_uuid(field: str, value: str) -> UUID:
    """Parse an id sent by a client, raising ValidationFailed naming the field."""
    try:
        return UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise ValidationFailed(
            [
                FieldError(
                    field,
                    f"{value!r} is not an id; ids are UUIDs like {EXAMPLE_ID}",
                )
            ]
        ) from None


# Goals and networking events (issue 6).


class AttendeeStatus(StrEnum):
    PLANNED = "PLANNED"
    MET = "MET"


class GoalPatch(_Patch):
    title: Name | None = None
    description: LongText | None = None
    metric: goal.Metric | None = None
    target: Annotated[int, Field(ge=1, le=100_000)] | None = None
    period: goal.Period | None = None
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


REQUIRED_ON_CREATE.update(
    {
        GoalPatch: {
            "title": "is required",
            "metric": "is required",
            "target": "is required",
            "period": "is required",
            "startsOn": "is required",
        },
        EventPatch: {"name": "is required", "startsAt": "is required"},
    }
)
NOT_NULL.update(
    {
        GoalPatch: frozenset({"title", "metric", "target", "period", "startsOn", "archived"}),
        EventPatch: frozenset({"name", "startsAt"}),
        AttendeePatch: frozenset({"status"}),
    }
)
