"""What the write path knows about each synced table: its key, its fields and their columns.

A field is the unit of merging: it has one clock, and a write either replaces all of its
columns or none of them (a birthday's month and day never come from two different edits).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from uuid_utils.compat import uuid7

from insights import sentiment
from model import patches as f
from store import tables

ToColumns = Callable[[Any], dict[str, Any]]

# The key in ``field_hlc`` that holds the server clock of a row's latest delete (a delete that
# moved ``cl`` to an even length). No field is named like it, and pulls leave it out.
DELETED_CLOCK = "@deleted"


@dataclass(frozen=True)
class OwnerSettings:
    """What derived values may depend on besides the row: the owner's choices."""

    sentiment_enabled: bool = True


@dataclass(frozen=True)
class FieldMap:
    """How one field is stored: a function to its columns, and the SQL that reads it back."""

    to_columns: ToColumns
    # The field's value as SQL over the row aliased ``t`` (pulls build their JSON in SQL).
    sql: str


def _column(name: str) -> FieldMap:
    return FieldMap(lambda value: {name: value}, f"t.{name}")


def _birthday_columns(value: Any) -> dict[str, Any]:
    if value is None:
        return {"birthday_month": None, "birthday_day": None, "birthday_year": None}
    return {
        "birthday_month": value["month"],
        "birthday_day": value["day"],
        "birthday_year": value.get("year"),
    }


def new_id() -> UUID:
    """Return a fresh time-ordered id (UUIDv7), which keeps new rows together in indexes."""
    return uuid7()


def snake_case(name: str) -> str:
    """Return the column name of a camelCase field name."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@dataclass(frozen=True)
class Entity:
    name: str
    table: sa.Table
    key: tuple[str, ...]
    patch: type[f._Patch] | None
    fields: Mapping[str, FieldMap] = field(default_factory=dict)
    # Computes derived columns from the merged row (all columns by name).
    derive: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    # Derived columns that depend on the owner's settings too; recomputed only when a field in
    # ``derive_reads`` changes, since scoring text costs far more than merging it.
    derive_owned: Callable[[Mapping[str, Any], OwnerSettings], dict[str, Any]] | None = None
    derive_reads: frozenset[str] = frozenset()
    # Whether a delete records its server clock under DELETED_CLOCK in ``field_hlc``.
    clocks_deletes: bool = False

    def columns_for(self, name: str, value: Any) -> dict[str, Any]:
        return self.fields[name].to_columns(value)

    def new_columns(self, values: Mapping[str, Any], settings: OwnerSettings) -> dict[str, Any]:
        """The columns of a new row with these field values, derived columns included."""
        columns: dict[str, Any] = {}
        for name, value in values.items():
            columns.update(self.columns_for(name, value))
        if self.derive is not None:
            columns.update(self.derive(columns))
        if self.derive_owned is not None:
            columns.update(self.derive_owned(columns, settings))
        return columns


def _plain_fields(patch: type[f._Patch], special: Mapping[str, FieldMap]) -> dict[str, FieldMap]:
    mapped: dict[str, FieldMap] = {}
    for python_name, info in patch.model_fields.items():
        api_name = info.alias or python_name
        mapped[api_name] = special.get(api_name) or _column(snake_case(api_name))
    return mapped


def _derive_contact(row: Mapping[str, Any]) -> dict[str, Any]:
    first = (row.get("first_name") or "").strip()
    last = (row.get("last_name") or "").strip()
    emails = " ".join(e["value"] for e in row.get("emails") or [])
    words = [first, last, row.get("company") or "", row.get("title") or "", emails]
    return {
        # Names sort as people read them in a list: "Ada Lovelace" under A.
        "sort_name": f"{first} {last}".strip().casefold(),
        "search_text": " ".join(w for w in words if w).casefold(),
    }


def tag_key(name: str) -> str:
    """Return the identity of a tag name: case-folded, inner spaces collapsed."""
    return " ".join(name.split()).casefold()


def _derive_tag(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"name_key": tag_key(row["name"])}


CONTACT = Entity(
    name="contact",
    table=tables.contacts,
    key=("id",),
    patch=f.ContactPatch,
    fields=_plain_fields(
        f.ContactPatch,
        {
            "birthday": FieldMap(
                _birthday_columns,
                "CASE WHEN t.birthday_month IS NULL THEN NULL ELSE json_build_object("
                "'month', t.birthday_month, 'day', t.birthday_day, 'year', t.birthday_year) END",
            )
        },
    ),
    derive=_derive_contact,
)


def _derive_sentiment(row: Mapping[str, Any], settings: OwnerSettings) -> dict[str, Any]:
    # Scored here, on the server, and nowhere else: the text never leaves for a third party.
    if not settings.sentiment_enabled:
        return {"sentiment": None}
    scored = sentiment.score_text(row.get("summary"), row.get("body"))
    return {"sentiment": None if scored is None else scored.compound}


# ``contactIds`` lives in interaction_participants; the writer keeps that table in step.
INTERACTION = Entity(
    name="interaction",
    table=tables.interactions,
    key=("id",),
    patch=f.InteractionPatch,
    fields=_plain_fields(
        f.InteractionPatch,
        {
            "contactIds": FieldMap(
                lambda value: {},
                # An ARRAY subquery costs a third less than json_agg in a page of 5,000.
                "to_json(ARRAY(SELECT p.contact_id FROM interaction_participants AS p "
                "WHERE p.owner_id = t.owner_id AND p.interaction_id = t.id "
                "ORDER BY p.contact_id))",
            )
        },
    ),
    derive_owned=_derive_sentiment,
    derive_reads=frozenset({"summary", "body"}),
)

TAG = Entity(
    name="tag",
    table=tables.tags,
    key=("id",),
    patch=f.TagPatch,
    fields=_plain_fields(f.TagPatch, {}),
    derive=_derive_tag,
    # A same-name create restores a deleted tag only if it is later than the delete.
    clocks_deletes=True,
)

REMINDER = Entity(
    name="reminder",
    table=tables.reminders,
    key=("id",),
    patch=f.ReminderPatch,
    fields=_plain_fields(f.ReminderPatch, {}),
)

CONTACT_TAG = Entity(
    name="contactTag",
    table=tables.contact_tags,
    key=("tag_id", "contact_id"),
    patch=None,
)

ENTITIES: dict[str, Entity] = {
    e.name: e for e in (CONTACT, INTERACTION, TAG, CONTACT_TAG, REMINDER)
}

# Goals and networking events (issue 6).

GOAL = Entity(
    name="goal",
    table=tables.goals,
    key=("id",),
    patch=f.GoalPatch,
    fields=_plain_fields(f.GoalPatch, {}),
)

EVENT = Entity(
    name="event",
    table=tables.events,
    key=("id",),
    patch=f.EventPatch,
    fields=_plain_fields(f.EventPatch, {}),
)

# Who the user plans to meet, or met, at an event: a synced set keyed by (event, contact) whose
# members also carry fields. Pulls show the key as fields too.
EVENT_ATTENDEE = Entity(
    name="eventAttendee",
    table=tables.event_attendees,
    key=("event_id", "contact_id"),
    patch=f.AttendeePatch,
    fields={
        "eventId": FieldMap(lambda value: {}, "t.event_id"),
        "contactId": FieldMap(lambda value: {}, "t.contact_id"),
        **_plain_fields(f.AttendeePatch, {}),
    },
)

ENTITIES.update({e.name: e for e in (GOAL, EVENT, EVENT_ATTENDEE)})
