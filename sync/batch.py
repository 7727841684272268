"""Batched creations: a fast push applies a run of new contacts or interactions in one call.

``sync.push`` gathers consecutive ``contact.put`` or ``interaction.put`` mutations that create
rows no earlier mutation touched, and applies them here in a few statements instead of one
write each; ``batchable`` says which creations may join.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from model.patches import ContactPatch, InteractionPatch, validate_patch
from sync.arguments import PutArgs, parse_args
from sync.derived import DERIVED_FROM
from sync.entity import CONTACT, INTERACTION, Entity
from sync.interaction import add_participants
from sync.merge import redirect_contacts
from sync.writer import Writer


def _new_rows(
    raws: Sequence[Mapping[str, Any]], patch: Any
) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    """Parse and check creations: (key, field values, clock) each, as ``create_many`` takes."""
    rows = []
    for raw in raws:
        args = parse_args(PutArgs, raw)
        rows.append(({"id": args.id}, validate_patch(patch, args.fields, creating=True), args.hlc))
    return rows


async def create_contacts(w: Writer, raws: Sequence[Mapping[str, Any]]) -> None:
    """Apply ``contact.put`` mutations of new contacts, without introducers, in one insert."""
    items = _new_rows(raws, ContactPatch)
    for key, values, _ in items:
        if DERIVED_FROM & set(values):
            w.touched_contacts.add(key["id"])
    await w.create_many(CONTACT, items)


async def create_interactions(w: Writer, raws: Sequence[Mapping[str, Any]]) -> None:
    """Apply ``interaction.put`` mutations of new interactions in a few statements."""
    items = _new_rows(raws, InteractionPatch)
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
