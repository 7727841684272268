"""The mutations a device pushes, by name, each applied on the caller's Writer.

| name                  | args                                                       |
|-----------------------|------------------------------------------------------------|
| contact.put           | id, fields (a contact patch), hlc, base (optional)         |
| contact.delete        | id, cl (optional: the causal length the device wants)      |
| contact.restore       | id, cl (optional)                                          |
| interaction.put       | id, fields (an interaction patch, with contactIds), hlc, base |
| interaction.delete    | id, cl                                                     |
| interaction.restore   | id, cl                                                     |
| tag.put               | id, fields (name, color), hlc                              |
| tag.delete            | id, cl                                                     |
| tag.restore           | id, cl                                                     |
| tag.setMembership     | tagId, contactId, member (true/false), cl                  |
| reminder.put          | id, fields (a reminder patch), hlc                         |
| reminder.delete       | id, cl                                                     |
| reminder.restore      | id, cl                                                     |
| goal.put              | id, fields (a goal patch), hlc, base                       |
| goal.delete           | id, cl                                                     |
| goal.restore          | id, cl                                                     |
| event.put             | id, fields (an event patch), hlc, base                     |
| event.delete          | id, cl                                                     |
| event.restore         | id, cl                                                     |
| event.setAttendee     | eventId, contactId, fields (status, note), hlc, cl         |
| event.removeAttendee  | eventId, contactId, cl                                     |

``hlc`` is the device's clock for every field of the patch; ``base`` gives, for long text
fields, the clock of the value the device edited, so a concurrent edit's text is kept as a
conflict instead of vanishing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from model.errors import Conflict, FieldError, NotFound, ValidationFailed
from model.patches import (
    ContactPatch,
    EventPatch,
    GoalPatch,
    InteractionPatch,
    TagPatch,
    validate_patch,
)
from store import tables
from sync import event, goal, reminder
from sync.contact import check_introducer
from sync.derived import DERIVED_FROM
from sync.entity import (
    CONTACT,
    CONTACT_TAG,
    DELETED_CLOCK,
    EVENT,
    GOAL,
    INTERACTION,
    REMINDER,
    TAG,
    Entity,
    snake_case,
    tag_key,
)
from sync.interaction import add_participants, apply_participants, set_interaction_alive
from sync.merge import ContactMerged, redirect_contacts
from sync.target import check_target_goal
from sync.writer import MAX_CL, Writer

# Fields whose losing value is kept as a conflict rather than dropped.
LONG_TEXT: dict[str, tuple[str, ...]] = {
    "contact": ("notes", "researchNotes"),
    "interaction": ("body",),
}


# Causal lengths are PostgreSQL integers: a larger one is refused here, not by the database.
CausalLength = Annotated[int, Field(ge=1, le=MAX_CL)]


class _Args(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)


class PutArgs(_Args):
    id: UUID
    fields: dict[str, Any]
    hlc: str
    base: dict[str, str] = Field(default_factory=dict)


class AliveArgs(_Args):
    id: UUID
    cl: CausalLength | None = None


class MembershipArgs(_Args):
    tag_id: UUID
    contact_id: UUID
    member: bool
    cl: CausalLength | None = None


def parse_args(model: type[_Args], args: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(args)
    except PydanticValidationError as exc:
        raise ValidationFailed(
            [
                FieldError(
                    ".".join(str(p) for p in ("args", *e["loc"])),
                    "is not an argument of this mutation; remove it"
                    if e["type"] == "extra_forbidden"
                    else str(e["msg"]),
                )
                for e in exc.errors()
            ]
        ) from None


async def _require_rows(w: Writer, table: sa.Table, ids: list[UUID], entity: str) -> None:
    """Refuse ids that name no row of the owner at all (deleted rows count as rows)."""
    found = set(
        (
            await w.conn.scalars(
                sa.select(table.c.id).where(table.c.owner_id == w.owner_id, table.c.id.in_(ids))
            )
        ).all()
    )
    for row_id in ids:
        if row_id not in found:
            raise NotFound(entity, row_id)


async def _survivors(w: Writer, contact_ids: list[UUID]) -> list[UUID]:
    """Check the ids name contacts of the owner; put a merged contact's survivor in its place.

    A device that has not pulled a merge yet still refers to the merged contacts (a meeting
    logged offline, a tag added); the reference lands on the survivor, where the merge moved
    everything else, and the device pulls the row as it was stored.
    """
    redirect = await redirect_contacts(w, contact_ids)
    return list(dict.fromkeys(redirect.get(cid, cid) for cid in contact_ids))


async def _record_conflicts(
    w: Writer,
    entity: Entity,
    row: Mapping[Any, Any] | None,
    values: Mapping[str, Any],
    args: PutArgs,
) -> None:
    if row is None:
        return
    for name in LONG_TEXT.get(entity.name, ()):
        if name not in values:
            continue
        stored_clock = row["field_hlc"].get(name, "")
        stored = row[snake_case(name)]  # long text fields are plain columns
        incoming = values[name]
        if stored == incoming or not stored_clock:
            continue
        if args.hlc <= stored_clock:
            loser, loser_clock, winner, winner_clock = incoming, args.hlc, stored, stored_clock
        elif name in args.base and args.base[name] != stored_clock:
            # The device edited an older value than the one it now replaces: both were edits.
            loser, loser_clock, winner, winner_clock = stored, stored_clock, incoming, args.hlc
        else:
            continue
        await w.conn.execute(
            sa.insert(tables.sync_conflicts).values(
                owner_id=w.owner_id,
                id=uuid.uuid4(),
                entity=entity.name,
                entity_id=args.id,
                field=name,
                losing_value=loser,
                losing_hlc=loser_clock,
                winning_value=winner,
                winning_hlc=winner_clock,
                created_at=w.now,
            )
        )


async def _put(w: Writer, entity: Entity, patch: Any, args: PutArgs) -> sa.RowMapping:
    row = await w.load(entity, {"id": args.id})
    if entity is CONTACT and row is not None and row["merged_into"] is not None:
        # Its fields live on in the survivor, with the server's clock: an edit landing there
        # would lose to them unnoticed, so it is refused with the survivor named instead.
        raise ContactMerged(args.id, row["merged_into"])
    values = validate_patch(patch, args.fields, creating=row is None)
    await _record_conflicts(w, entity, row, values, args)
    written, _ = await w.put(
        entity, {"id": args.id}, values, clocks=dict.fromkeys(values, args.hlc), loaded=(row,)
    )
    return written


async def put_contact(w: Writer, raw: Mapping[str, Any]) -> None:
    args: PutArgs = parse_args(PutArgs, raw)
    introducer = args.fields.get("introducedById")
    if introducer is not None:
        (introducer_id,) = await _survivors(w, [UUID(str(introducer))])
        args = args.model_copy(update={"fields": {**args.fields, "introducedById": introducer_id}})
        await check_introducer(w, args.id, {"introducedById": introducer_id}, alive_only=False)
    if args.fields.get("targetGoalId") is not None:
        link = {"targetGoalId": args.fields["targetGoalId"]}
        await check_target_goal(
            w, validate_patch(ContactPatch, link, creating=False), alive_only=False
        )
    await _put(w, CONTACT, ContactPatch, args)
    if DERIVED_FROM & set(args.fields):
        w.touched_contacts.add(args.id)


async def put_interaction(w: Writer, raw: Mapping[str, Any]) -> None:
    args: PutArgs = parse_args(PutArgs, raw)
    row = await w.load(INTERACTION, {"id": args.id})
    values = validate_patch(InteractionPatch, args.fields, creating=row is None)
    if values.get("contactIds"):
        # Contacts deleted elsewhere still count: the interaction is kept, hidden with them.
        values["contactIds"] = await _survivors(w, values["contactIds"])
    await _record_conflicts(w, INTERACTION, row, values, args)
    written, won = await w.put(
        INTERACTION,
        {"id": args.id},
        values,
        clocks=dict.fromkeys(values, args.hlc),
        loaded=(row,),
    )
    await apply_participants(w, written, won, values.get("contactIds"))


async def create_contacts(w: Writer, raws: Sequence[Mapping[str, Any]]) -> None:
    """Apply ``contact.put`` mutations of new contacts, without introducers, in one insert."""
    items = []
    for raw in raws:
        args: PutArgs = parse_args(PutArgs, raw)
        values = validate_patch(ContactPatch, args.fields, creating=True)
        items.append(({"id": args.id}, values, args.hlc))
        if DERIVED_FROM & set(values):
            w.touched_contacts.add(args.id)
    await w.create_many(CONTACT, items)


async def create_interactions(w: Writer, raws: Sequence[Mapping[str, Any]]) -> None:
    """Apply ``interaction.put`` mutations of new interactions in a few statements."""
    items = []
    for raw in raws:
        args: PutArgs = parse_args(PutArgs, raw)
        values = validate_patch(InteractionPatch, args.fields, creating=True)
        items.append(({"id": args.id}, values, args.hlc))
    wanted = {c: None for _, values, _ in items for c in values.get("contactIds") or ()}
    if wanted:
        redirect = await redirect_contacts(w, list(wanted))
        if redirect:
            for _, values, _ in items:
                ids = values.get("contactIds") or []
                values["contactIds"] = list(dict.fromkeys(redirect.get(c, c) for c in ids))
    rows = await w.create_many(INTERACTION, items)
    await add_participants(
        w,
        [
            (row, values.get("contactIds") or [])
            for row, (_, values, _) in zip(rows, items, strict=True)
        ],
    )


# Mutations that a fast push may gather into one call while they create rows that do not
# exist yet. ``eligible`` tells which creations the batch can take.
BATCHED: dict[str, Callable[[Writer, Sequence[Mapping[str, Any]]], Awaitable[None]]] = {
    "contact.put": create_contacts,
    "interaction.put": create_interactions,
}
BATCHED_ENTITY: dict[str, Entity] = {"contact.put": CONTACT, "interaction.put": INTERACTION}


def batchable(name: str, args: Mapping[str, Any]) -> bool:
    """Whether a creation by this mutation can join a batch (an introducer or a target's goal
    needs a check)."""
    if name not in BATCHED:
        return False
    fields = args.get("fields")
    return isinstance(fields, dict) and (
        name != "contact.put" or not {"introducedById", "targetGoalId"} & set(fields)
    )


async def resolve_tag(w: Writer, tag_id: UUID) -> UUID:
    """Return the tag an id names, following an alias left by a same-name merge."""
    a = tables.tag_aliases.c
    target = await w.conn.scalar(
        sa.select(a.tag_id).where(a.owner_id == w.owner_id, a.id == tag_id)
    )
    return target if target is not None else tag_id


async def put_tag(w: Writer, raw: Mapping[str, Any]) -> None:
    args: PutArgs = parse_args(PutArgs, raw)
    tag_id = await resolve_tag(w, args.id)
    row = await w.load(TAG, {"id": tag_id})
    values = validate_patch(TagPatch, args.fields, creating=row is None)
    clocks = dict.fromkeys(values, args.hlc)
    if "name" in values:
        t = tables.tags.c
        other = (
            await w.conn.execute(
                sa.select(t.id, t.cl).where(
                    t.owner_id == w.owner_id, t.name_key == tag_key(values["name"]), t.id != tag_id
                )
            )
        ).first()
        if other is not None and row is None:
            # Two devices made the same tag offline: this id becomes the other tag's alias.
            await w.conn.execute(
                sa.insert(tables.tag_aliases).values(
                    owner_id=w.owner_id,
                    id=tag_id,
                    tag_id=other.id,
                    server_version=w.version,
                    created_at=w.now,
                )
            )
            w.changed = True
            # The create is an edit of that tag: its name (same but for case and spaces) and
            # color merge field by field by clock.
            merged, _ = await w.put(TAG, {"id": other.id}, values, clocks=clocks)
            if merged["cl"] % 2 == 0 and args.hlc > merged["field_hlc"].get(DELETED_CLOCK, "~"):
                # Made after the delete reached the server (the delete's clock is a server
                # tick, later than every device clock received before it): the user wants
                # the tag, so it comes back. A create that arrived before the delete has an
                # earlier clock, so it loses to the delete whichever arrived first. A tag
                # deleted before deletes were clocked ("~" sorts after every clock) stays
                # deleted, as it did then.
                await w.set_alive(TAG, {"id": other.id}, alive=True)
            return
        if other is not None:
            raise Conflict(f"another tag is already named {values['name']!r}; pick another name")
    await w.put(TAG, {"id": tag_id}, values, clocks=clocks, loaded=(row,))


def _alive_handler(
    entity: Entity, alive: bool
) -> Callable[[Writer, Mapping[str, Any]], Awaitable[None]]:
    async def handle(w: Writer, raw: Mapping[str, Any]) -> None:
        args: AliveArgs = parse_args(AliveArgs, raw)
        if args.cl is not None and (args.cl % 2 == 1) != alive:
            kind = "odd (alive)" if alive else "even (deleted)"
            raise ValidationFailed([FieldError("args.cl", f"must be {kind} for this mutation")])
        row_id = await resolve_tag(w, args.id) if entity is TAG else args.id
        if entity is CONTACT and alive:
            row = await w.load(CONTACT, {"id": row_id})
            if row is not None and row["merged_into"] is not None:
                raise ContactMerged(row_id, row["merged_into"])
        if entity is INTERACTION:
            await set_interaction_alive(w, row_id, alive, cl=args.cl)
            return
        await w.set_alive(entity, {"id": row_id}, alive=alive, cl=args.cl)

    return handle


async def set_membership(w: Writer, raw: Mapping[str, Any]) -> None:
    args: MembershipArgs = parse_args(MembershipArgs, raw)
    if args.cl is not None and (args.cl % 2 == 1) != args.member:
        raise ValidationFailed(
            [FieldError("args.cl", "must be odd to add a member, even to remove one")]
        )
    tag_id = await resolve_tag(w, args.tag_id)
    await _require_rows(w, tables.tags, [tag_id], "tag")
    (contact_id,) = await _survivors(w, [args.contact_id])
    await w.insert_membership(
        CONTACT_TAG, {"tag_id": tag_id, "contact_id": contact_id}, args.member, cl=args.cl
    )


async def put_reminder(w: Writer, raw: Mapping[str, Any]) -> None:
    args: PutArgs = parse_args(PutArgs, raw)
    fields = dict(args.fields)
    contact = fields.get("contactId")
    if contact is not None:
        # Validated by the reminder rule; here only redirected if it names a merged contact.
        try:
            contact_id = UUID(str(contact))
        except ValueError:
            contact_id = None
        if contact_id is not None:
            (survivor,) = await _survivors(w, [contact_id])
            fields["contactId"] = str(survivor)
    await reminder.put_reminder(w, args.id, fields, clock=args.hlc, online=False)


HANDLERS: dict[str, Callable[[Writer, Mapping[str, Any]], Awaitable[None]]] = {
    "contact.put": put_contact,
    "contact.delete": _alive_handler(CONTACT, alive=False),
    "contact.restore": _alive_handler(CONTACT, alive=True),
    "interaction.put": put_interaction,
    "interaction.delete": _alive_handler(INTERACTION, alive=False),
    "interaction.restore": _alive_handler(INTERACTION, alive=True),
    "tag.put": put_tag,
    "tag.delete": _alive_handler(TAG, alive=False),
    "tag.restore": _alive_handler(TAG, alive=True),
    "tag.setMembership": set_membership,
    "reminder.put": put_reminder,
    "reminder.delete": _alive_handler(REMINDER, alive=False),
    "reminder.restore": _alive_handler(REMINDER, alive=True),
}


# Goals and networking events (issue 6).


class AttendeeArgs(_Args):
    event_id: UUID
    contact_id: UUID
    fields: dict[str, Any] = Field(default_factory=dict)
    hlc: str | None = None
    cl: CausalLength | None = None


LONG_TEXT.update({"goal": ("description",), "event": ("notes",)})


async def _keep_losing_text(w: Writer, entity: Entity, patch: Any, args: PutArgs) -> None:
    row = await w.load(entity, {"id": args.id})
    values = validate_patch(patch, args.fields, creating=row is None)
    await _record_conflicts(w, entity, row, values, args)


async def put_goal(w: Writer, raw: Mapping[str, Any]) -> None:
    args: PutArgs = parse_args(PutArgs, raw)
    await _keep_losing_text(w, GOAL, GoalPatch, args)
    await goal.put_goal(w, args.id, args.fields, clock=args.hlc, online=False)


async def put_event(w: Writer, raw: Mapping[str, Any]) -> None:
    args: PutArgs = parse_args(PutArgs, raw)
    await _keep_losing_text(w, EVENT, EventPatch, args)
    await event.put_event(w, args.id, args.fields, clock=args.hlc)


async def set_attendee(w: Writer, raw: Mapping[str, Any]) -> None:
    args: AttendeeArgs = parse_args(AttendeeArgs, raw)
    if args.cl is not None and args.cl % 2 == 0:
        raise ValidationFailed([FieldError("args.cl", "must be odd (attending)")])
    if args.fields and args.hlc is None:
        raise ValidationFailed([FieldError("args.hlc", "is required with fields")])
    (contact_id,) = await _survivors(w, [args.contact_id])
    await event.set_attendee(
        w, args.event_id, contact_id, args.fields, clock=args.hlc, cl=args.cl, online=False
    )


async def remove_attendee(w: Writer, raw: Mapping[str, Any]) -> None:
    args: AttendeeArgs = parse_args(AttendeeArgs, raw)
    if args.cl is not None and args.cl % 2 == 1:
        raise ValidationFailed([FieldError("args.cl", "must be even (removed)")])
    (contact_id,) = await _survivors(w, [args.contact_id])
    await event.remove_attendee(w, args.event_id, contact_id, cl=args.cl)


HANDLERS.update(
    {
        "goal.put": put_goal,
        "goal.delete": _alive_handler(GOAL, alive=False),
        "goal.restore": _alive_handler(GOAL, alive=True),
        "event.put": put_event,
        "event.delete": _alive_handler(EVENT, alive=False),
        "event.restore": _alive_handler(EVENT, alive=True),
        "event.setAttendee": set_attendee,
        "event.removeAttendee": remove_attendee,
    }
)
