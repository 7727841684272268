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
conflict instead of vanishing (``sync.conflict``). Arguments are parsed by ``sync.arguments``;
runs of creations a fast push gathers are applied by ``sync.batch``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from model.errors import Conflict, FieldError, ValidationFailed
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
from sync.arguments import (
    AliveArgs,
    AttendeeArgs,
    MembershipArgs,
    PutArgs,
    check_parity,
    parse_args,
)
from sync.conflict import record_conflicts
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
    tag_key,
)
from sync.interaction import apply_participants, set_interaction_alive
from sync.merge import ContactMerged, survivors
from sync.target import check_target_goal
from sync.writer import Writer, require_row

Handler = Callable[[Writer, Mapping[str, Any]], Awaitable[None]]


async def _put(w: Writer, entity: Entity, patch: Any, args: PutArgs) -> sa.RowMapping:
    row = await w.load(entity, {"id": args.id})
    if entity is CONTACT and row is not None and row["merged_into"] is not None:
        # Its fields live on in the survivor, with the server's clock: an edit landing there
        # would lose to them unnoticed, so it is refused with the survivor named instead.
        raise ContactMerged(args.id, row["merged_into"])
    values = validate_patch(patch, args.fields, creating=row is None)
    await record_conflicts(w, entity, row, values, args)
    written, _ = await w.put(
        entity, {"id": args.id}, values, clocks=dict.fromkeys(values, args.hlc), loaded=(row,)
    )
    return written


async def put_contact(w: Writer, raw: Mapping[str, Any]) -> None:
    args = parse_args(PutArgs, raw)
    introducer = args.fields.get("introducedById")
    if introducer is not None:
        (introducer_id,) = await survivors(w, [UUID(str(introducer))])
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
    args = parse_args(PutArgs, raw)
    row = await w.load(INTERACTION, {"id": args.id})
    values = validate_patch(InteractionPatch, args.fields, creating=row is None)
    if values.get("contactIds"):
        # Contacts deleted elsewhere still count: the interaction is kept, hidden with them.
        values["contactIds"] = await survivors(w, values["contactIds"])
    await record_conflicts(w, INTERACTION, row, values, args)
    written, won = await w.put(
        INTERACTION,
        {"id": args.id},
        values,
        clocks=dict.fromkeys(values, args.hlc),
        loaded=(row,),
    )
    await apply_participants(w, written, won, values.get("contactIds"))


async def resolve_tag(w: Writer, tag_id: UUID) -> UUID:
    """Return the tag an id names, following an alias left by a same-name merge."""
    a = tables.tag_aliases.c
    target = await w.conn.scalar(
        sa.select(a.tag_id).where(a.owner_id == w.owner_id, a.id == tag_id)
    )
    return target if target is not None else tag_id


async def put_tag(w: Writer, raw: Mapping[str, Any]) -> None:
    args = parse_args(PutArgs, raw)
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


def _alive_handler(entity: Entity, alive: bool) -> Handler:
    async def handle(w: Writer, raw: Mapping[str, Any]) -> None:
        args = parse_args(AliveArgs, raw)
        kind = "odd (alive)" if alive else "even (deleted)"
        check_parity(args.cl, alive=alive, message=f"must be {kind} for this mutation")
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
    args = parse_args(MembershipArgs, raw)
    check_parity(
        args.cl, alive=args.member, message="must be odd to add a member, even to remove one"
    )
    tag_id = await resolve_tag(w, args.tag_id)
    # Any of the owner's tags, deleted ones too.
    await require_row(w, tables.tags, tag_id, "tag", alive=False)
    (contact_id,) = await survivors(w, [args.contact_id])
    await w.insert_membership(
        CONTACT_TAG, {"tag_id": tag_id, "contact_id": contact_id}, args.member, cl=args.cl
    )


async def put_reminder(w: Writer, raw: Mapping[str, Any]) -> None:
    args = parse_args(PutArgs, raw)
    fields = dict(args.fields)
    contact = fields.get("contactId")
    if contact is not None:
        # Validated by the reminder rule; here only redirected if it names a merged contact.
        try:
            contact_id = UUID(str(contact))
        except ValueError:
            contact_id = None
        if contact_id is not None:
            (survivor,) = await survivors(w, [contact_id])
            fields["contactId"] = str(survivor)
    await reminder.put_reminder(w, args.id, fields, clock=args.hlc, online=False)


# Goals and networking events (issue 6): their own rules write them; a push first keeps the
# losing text of a concurrent edit.


async def _keep_losing_text(w: Writer, entity: Entity, patch: Any, args: PutArgs) -> None:
    row = await w.load(entity, {"id": args.id})
    values = validate_patch(patch, args.fields, creating=row is None)
    await record_conflicts(w, entity, row, values, args)


async def put_goal(w: Writer, raw: Mapping[str, Any]) -> None:
    args = parse_args(PutArgs, raw)
    await _keep_losing_text(w, GOAL, GoalPatch, args)
    await goal.put_goal(w, args.id, args.fields, clock=args.hlc, online=False)


async def put_event(w: Writer, raw: Mapping[str, Any]) -> None:
    args = parse_args(PutArgs, raw)
    await _keep_losing_text(w, EVENT, EventPatch, args)
    await event.put_event(w, args.id, args.fields, clock=args.hlc)


async def set_attendee(w: Writer, raw: Mapping[str, Any]) -> None:
    args = parse_args(AttendeeArgs, raw)
    check_parity(args.cl, alive=True, message="must be odd (attending)")
    if args.fields and args.hlc is None:
        raise ValidationFailed([FieldError("args.hlc", "is required with fields")])
    (contact_id,) = await survivors(w, [args.contact_id])
    await event.set_attendee(
        w, args.event_id, contact_id, args.fields, clock=args.hlc, cl=args.cl, online=False
    )


async def remove_attendee(w: Writer, raw: Mapping[str, Any]) -> None:
    args = parse_args(AttendeeArgs, raw)
    check_parity(args.cl, alive=False, message="must be even (removed)")
    (contact_id,) = await survivors(w, [args.contact_id])
    await event.remove_attendee(w, args.event_id, contact_id, cl=args.cl)


HANDLERS: dict[str, Handler] = {
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
    "goal.put": put_goal,
    "goal.delete": _alive_handler(GOAL, alive=False),
    "goal.restore": _alive_handler(GOAL, alive=True),
    "event.put": put_event,
    "event.delete": _alive_handler(EVENT, alive=False),
    "event.restore": _alive_handler(EVENT, alive=True),
    "event.setAttendee": set_attendee,
    "event.removeAttendee": remove_attendee,
}
