"""The rules a patch must follow, and the messages that say what to fix."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from model.errors import ValidationFailed
from model.ids import parse_uuid
from model.patches import (
    ContactPatch,
    EventPatch,
    GoalPatch,
    InteractionPatch,
    ReminderPatch,
    TagPatch,
    UserPatch,
    validate_patch,
)


def problems(model: Any, data: dict[str, Any], *, creating: bool = False) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_patch(model, data, creating=creating)
    return {e.field: e.message for e in caught.value.errors}


def test_a_partial_patch_keeps_only_the_fields_sent() -> None:
    values = validate_patch(ContactPatch, {"company": "Acme", "cadenceDays": 30}, creating=False)
    assert values == {"company": "Acme", "cadenceDays": 30}


def test_null_clears_an_optional_field() -> None:
    assert validate_patch(ContactPatch, {"company": None}, creating=False) == {"company": None}


def test_creating_requires_a_first_name() -> None:
    assert problems(ContactPatch, {"company": "Acme"}, creating=True) == {
        "firstName": "is required"
    }


@pytest.mark.parametrize("name", ["", "   ", "x" * 10_000])
def test_empty_or_huge_names_are_refused(name: str) -> None:
    found = problems(ContactPatch, {"firstName": name}, creating=True)
    assert "firstName" in found


def test_a_malformed_email_names_its_position() -> None:
    found = problems(
        ContactPatch, {"emails": [{"value": "ok@example.com"}, {"value": "not-an-email"}]}
    )
    assert list(found) == ["emails.1.value"]
    assert "email" in found["emails.1.value"]


def test_feb_30_does_not_exist() -> None:
    found = problems(ContactPatch, {"birthday": {"month": 2, "day": 30}})
    assert found == {"birthday": "February has 29 days; day 30 does not exist"}


def test_feb_29_needs_a_leap_year_when_the_year_is_known() -> None:
    assert validate_patch(ContactPatch, {"birthday": {"month": 2, "day": 29}}, creating=False)
    assert validate_patch(
        ContactPatch, {"birthday": {"month": 2, "day": 29, "year": 2000}}, creating=False
    )
    found = problems(ContactPatch, {"birthday": {"month": 2, "day": 29, "year": 2023}})
    assert found == {"birthday": "February 2023 has 28 days; day 29 does not exist"}


@pytest.mark.parametrize("cadence", [-3, 0, 10_000])
def test_cadence_must_be_a_sensible_number_of_days(cadence: int) -> None:
    assert "cadenceDays" in problems(ContactPatch, {"cadenceDays": cadence})


def test_unknown_fields_are_refused_by_name() -> None:
    found = problems(ContactPatch, {"favouriteColour": "blue"})
    assert found == {"favouriteColour": "is not a field of this object; remove it"}


def test_required_fields_cannot_be_cleared() -> None:
    assert problems(ContactPatch, {"firstName": None}) == {
        "firstName": "cannot be cleared; send a value"
    }


def test_an_interaction_needs_contacts_and_a_time() -> None:
    found = problems(InteractionPatch, {"summary": "Lunch"}, creating=True)
    assert set(found) == {"contactIds", "occurredAt"}


def test_an_interaction_time_needs_a_time_zone() -> None:
    found = problems(InteractionPatch, {"occurredAt": "2026-01-01T10:00:00"})
    assert "occurredAt" in found


def test_tag_colors_are_hex() -> None:
    assert "color" in problems(TagPatch, {"color": "red"})
    assert validate_patch(TagPatch, {"color": "#A1B2C3"}, creating=False) == {"color": "#A1B2C3"}


def test_time_zones_must_be_iana_names() -> None:
    found = problems(UserPatch, {"timeZone": "Mars/Olympus"})
    assert found == {
        "timeZone": "'Mars/Olympus' is not an IANA time zone; use a name like 'Europe/Berlin'"
    }
    assert validate_patch(UserPatch, {"timeZone": "Asia/Kolkata"}, creating=False)


def test_reminder_hour_is_an_hour_of_the_day() -> None:
    assert "reminderHour" in problems(UserPatch, {"reminderHour": 24})


def test_ids_of_the_wrong_shape_are_explained() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_uuid("id", "42")
    assert caught.value.errors[0].field == "id"
    assert "is not an id" in caught.value.errors[0].message


def test_dates_parse_from_iso_strings() -> None:
    values = validate_patch(ContactPatch, {"workStartedOn": "2020-03-01"}, creating=False)
    assert values == {"workStartedOn": date(2020, 3, 1)}


@pytest.mark.parametrize("field", ["dueOn", "snoozedUntil", "completedThrough"])
def test_reminder_dates_past_2199_are_refused(field: str) -> None:
    found = problems(ReminderPatch, {field: "9999-12-30"})
    assert set(found) == {field}
    assert "2199-12-31" in found[field]
    assert validate_patch(ReminderPatch, {field: "2199-12-31"}, creating=False) == {
        field: date(2199, 12, 31)
    }


def test_a_contact_snooze_past_2199_is_refused() -> None:
    assert set(problems(ContactPatch, {"snoozedUntil": "3000-01-01"})) == {"snoozedUntil"}


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (InteractionPatch, "occurredAt", "9999-12-31T23:59:59-12:00"),
        (InteractionPatch, "occurredAt", "1899-12-31T23:00:00+00:00"),
        (EventPatch, "startsAt", "0001-01-01T00:00:00+14:00"),
        # Inside the range as sent, outside it in UTC.
        (EventPatch, "endsAt", "2199-12-31T23:00:00-12:00"),
        (EventPatch, "startsAt", "1900-01-01T01:00:00+14:00"),
        (GoalPatch, "startsOn", "9999-12-31"),
        (GoalPatch, "endsOn", "0001-01-01"),
        (ContactPatch, "workStartedOn", "9999-12-31"),
    ],
)
def test_dates_and_times_outside_1900_to_2199_are_refused(
    model: Any, field: str, value: str
) -> None:
    found = problems(model, {field: value})
    assert set(found) == {field}
    assert "1900-01-01" in found[field]
    assert "2199-12-31" in found[field]


def test_the_ends_of_the_range_are_accepted() -> None:
    first = validate_patch(EventPatch, {"startsAt": "1900-01-01T00:00:00Z"}, creating=False)
    assert first["startsAt"].year == 1900
    last = validate_patch(
        InteractionPatch, {"occurredAt": "2199-12-31T23:59:59+00:00"}, creating=False
    )
    assert last["occurredAt"].year == 2199


@pytest.mark.parametrize("text", ["a\x00b", "x\ud800y"])
def test_text_no_column_can_hold_is_refused_in_any_field(text: str) -> None:
    found = problems(ContactPatch, {"notes": text, "interests": ["ok", text]})
    assert set(found) == {"notes", "interests"}
    assert "remove the" in found["notes"]


def test_a_bad_key_is_named_readably() -> None:
    found = problems(ContactPatch, {"a\x00b": 1})
    assert list(found) == ["a\\x00b"]


def test_a_long_time_zone_is_refused_before_any_lookup() -> None:
    found = problems(UserPatch, {"timeZone": "é" * 1_000_000})
    assert "at most 64 characters" in found["timeZone"]
