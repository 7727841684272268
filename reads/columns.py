"""Which column each GraphQL field reads, how it renders, and the row aliases that read them."""

from __future__ import annotations

from collections.abc import Callable

from reads import render

Render = Callable[[str], str]

# GraphQL field -> (column, how to render it, nullable).
CONTACT_COLUMNS: dict[str, tuple[str, Render, bool]] = {
    "id": ("id", render.uuid, False),
    "firstName": ("first_name", render.string, False),
    "lastName": ("last_name", render.string, False),
    "company": ("company", render.string, True),
    "title": ("title", render.string, True),
    "workStartedOn": ("work_started_on", render.date, True),
    "howWeMet": ("how_we_met", render.string, True),
    "preferredChannel": ("preferred_channel", render.enum_value, True),
    "communicationNotes": ("communication_notes", render.string, True),
    "cadenceDays": ("cadence_days", render.number, True),
    "snoozedUntil": ("snoozed_until", render.date, True),
    "stage": ("stage", render.enum_value, False),
    "importance": ("importance", render.enum_value, False),
    "notes": ("notes", render.string, True),
    "lastInteractionAt": ("last_interaction_at", render.datetime, True),
    "nextFollowUpAt": ("next_follow_up_at", render.datetime, True),
    "isTarget": ("is_target", render.boolean, False),
    "targetReason": ("target_reason", render.string, True),
    "targetGoalId": ("target_goal_id", render.uuid, True),
    "researchNotes": ("research_notes", render.string, True),
    "targetMetAt": ("target_met_at", render.datetime, True),
    "createdAt": ("created_at", render.datetime, False),
    "updatedAt": ("updated_at", render.datetime, False),
}
INTERACTION_COLUMNS: dict[str, tuple[str, Render, bool]] = {
    "id": ("id", render.uuid, False),
    "kind": ("kind", render.enum_value, False),
    "occurredAt": ("occurred_at", render.datetime, False),
    "summary": ("summary", render.string, False),
    "body": ("body", render.string, True),
    "given": ("given", render.string, True),
    "received": ("received", render.string, True),
    "createdAt": ("created_at", render.datetime, False),
    "updatedAt": ("updated_at", render.datetime, False),
}
TAG_COLUMNS: dict[str, tuple[str, Render, bool]] = {
    "id": ("id", render.uuid, False),
    "name": ("name", render.string, False),
    "color": ("color", render.string, True),
}
USER_COLUMNS: dict[str, tuple[str, Render, bool]] = {
    "id": ("id", render.uuid, False),
    "email": ("email", render.string, True),
    "displayName": ("display_name", render.string, False),
    "timeZone": ("time_zone", render.string, False),
    "reminderHour": ("reminder_hour", render.number, False),
    "quietHoursStart": ("quiet_hours_start", render.time, True),
    "quietHoursEnd": ("quiet_hours_end", render.time, True),
    "dailyDigest": ("daily_digest", render.boolean, False),
    "sentimentEnabled": ("sentiment_enabled", render.boolean, False),
    "createdAt": ("created_at", render.datetime, False),
}
# LeadDays.from_json's defaults for keys a stored value lacks.
LEAD_DAYS = {
    "birthday": ("birthday", "[0, 7]"),
    "anniversary": ("anniversary", "[0]"),
    "followUp": ("followUp", "[0]"),
    "reminder": ("reminder", "[0]"),
}


class Row:
    """A row alias whose columns are read by name, remembering which ones were read.

    With ``inner`` (the alias of the rows this one selects from) a value rendered more than
    once per row, as a page's sort keys are for the node and again for its cursor, is
    computed once, in the inner select (``shared``: output name -> SQL over ``inner``).
    """

    def __init__(self, alias: str, inner: str | None = None) -> None:
        self.alias = alias
        self.inner = inner
        self.columns: set[str] = set()
        self.shared: dict[str, str] = {}

    def col(self, name: str) -> str:
        self.columns.add(name)
        return f"{self.alias}.{name}"

    def once(self, name: str, render_text: Render) -> str:
        """``render_text`` of column ``name``, computed once per row when the row can share."""
        if self.inner is None:
            return render_text(self.col(name))
        self.columns.add(name)
        output = f"{render_text.__name__}_{name}"
        self.shared.setdefault(output, render_text(f"{self.inner}.{name}"))
        return f"{self.alias}.{output}"
