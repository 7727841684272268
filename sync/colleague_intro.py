"""Warm introductions between colleagues: ask, then the colleague accepts or declines.

The asker cannot list a colleague's contacts, so a request names whom it is about in the
asker's own words (``whom``: "someone at Acme working on payments"), optionally with one of the
asker's own contacts it is about (a person they want to meet). The colleague sees the words and
the note, never more of the asker's data, and picks one of their own contacts on accepting; that
contact's data crosses only if they share its card with the acceptance. An accepted
introduction is logged as an INTRODUCTION interaction on both sides: the introducer's counts as
given (and towards MAKE_INTRODUCTIONS goals), the asker's as received, once the asker has a
contact for the person (the one named when asking, or the shared card when accepted).
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import Clock
from model.errors import Conflict, FieldError, NotFound, RateLimited, ValidationFailed
from model.text import MAX_SHORT, MAX_TEXT
from store import ratelimits, tables
from sync.colleague_card import CARD_FIELDS, insert_card, load_contact, require_active_link
from sync.colleague_peer import introduction_interaction_id, push_card, push_request, run_step
from sync.contact import require_alive_contacts
from sync.entity import new_id
from sync.interaction import log_interaction
from sync.writer import open_writer

# Introductions a user may ask for: 20 a day, as a burst then one every 72 minutes
# (store.ratelimits), so a hostile colleague cannot flood someone's incoming requests.
ASK_SCOPE = "colleague-introduction"
ASK_LIMIT = 20
ASK_PERIOD = timedelta(days=1)
_r = tables.introduction_requests.c
_requests = tables.introduction_requests


def check_texts(**texts: str | None) -> None:
    """Refuse a blank ``whom`` and texts too long to keep."""
    problems = []
    for field, value in texts.items():
        limit = MAX_SHORT if field == "whom" else MAX_TEXT
        if field == "whom" and (value is None or not value.strip()):
            problems.append(
                FieldError(field, "say whom you want to meet: a name, a company, a role")
            )
        elif value is not None and len(value) > limit:
            problems.append(FieldError(field, f"use at most {limit} characters"))
    if problems:
        raise ValidationFailed(problems)


def checked_note(note: str | None) -> str | None:
    """Return a note that fits, or raise ValidationFailed."""
    check_texts(note=note)
    return note


async def request_introduction(
    engine: AsyncEngine,
    clock: Clock,
    owner_id: UUID,
    *,
    link_id: UUID,
    whom: str,
    note: str | None,
    contact_id: UUID | None,
) -> UUID:
    """Ask a colleague for an introduction; return the request's id (the same on both sides)."""
    check_texts(whom=whom, note=note)
    now = clock.now()
    async with engine.begin() as conn:
        await require_active_link(conn, owner_id, link_id)
        if contact_id is not None:
            await load_contact(conn, owner_id, contact_id)
        # A refused take changes nothing, so raising here leaves nothing half-written.
        wait = await ratelimits.take_request(
            conn, scope=ASK_SCOPE, key=str(owner_id), limit=ASK_LIMIT, period=ASK_PERIOD
        )
        if wait is not None:
            raise RateLimited(max(1, int(wait.total_seconds()) + 1))
        request = (
            (
                await conn.execute(
                    sa.insert(_requests)
                    .values(
                        owner_id=owner_id,
                        id=new_id(),
                        link_id=link_id,
                        direction="OUT",
                        whom=whom.strip(),
                        note=note,
                        status="PENDING",
                        contact_id=contact_id,
                        created_at=now,
                    )
                    .returning(_requests)
                )
            )
            .mappings()
            .one()
        )
    await run_step(push_request(engine, clock, request))
    request_id: UUID = request["id"]
    return request_id


def _check_pending(request: sa.RowMapping | None, request_id: UUID) -> sa.RowMapping:
    if request is None:
        raise NotFound("introduction request", request_id)
    status = request["status"]
    if status == "ACCEPTED":
        raise Conflict("You accepted this introduction request already.")
    if status == "DECLINED":
        raise Conflict("You declined this introduction request already.")
    if status != "PENDING":
        raise Conflict("Your colleague link ended before you answered; this request is closed.")
    return request


def _incoming(request_id: UUID, owner_id: UUID) -> sa.Select[tuple[object, ...]]:
    return (
        sa.select(_requests)
        .where(_r.owner_id == owner_id, _r.id == request_id, _r.direction == "IN")
        .with_for_update()
    )


async def accept_introduction(
    engine: AsyncEngine,
    clock: Clock,
    owner_id: UUID,
    *,
    request_id: UUID,
    contact_id: UUID,
    share_card: bool,
    note: str | None,
) -> UUID:
    """Accept a request: log the introduction here, optionally share the contact's card."""
    check_texts(note=note)
    async with open_writer(engine, owner_id, clock) as w:
        found = (await w.conn.execute(_incoming(request_id, owner_id))).mappings().first()
        request = _check_pending(found, request_id)
        link = await require_active_link(w.conn, owner_id, request["link_id"])
        await require_alive_contacts(w, [contact_id])
        contact = await load_contact(w.conn, owner_id, contact_id)
        name = f"{contact['first_name']} {contact['last_name']}".strip()
        asker = link["peer_name"]
        interaction_id = introduction_interaction_id(request_id, owner_id)
        await log_interaction(
            w,
            interaction_id,
            {
                "contactIds": [contact_id],
                "kind": "INTRODUCTION",
                "occurredAt": w.now,
                "summary": f"Introduced {name} to {asker}, a colleague"[:MAX_SHORT],
                "body": note,
                "given": f"An introduction to {asker}"[:MAX_SHORT],
            },
        )
        card = None
        if share_card:
            card = await insert_card(
                w.conn,
                owner_id=owner_id,
                link_id=request["link_id"],
                contact=contact,
                fields=CARD_FIELDS,
                note=note,
                now=w.now,
                introduction_id=request_id,
            )
        decided = (
            (
                await w.conn.execute(
                    sa.update(_requests)
                    .where(_r.owner_id == owner_id, _r.id == request_id)
                    .values(
                        status="ACCEPTED",
                        contact_id=contact_id,
                        response=note,
                        responded_at=w.now,
                        shared_card_id=None if card is None else card["id"],
                        interaction_id=interaction_id,
                        peer_synced=False,
                    )
                    .returning(_requests)
                )
            )
            .mappings()
            .one()
        )
    if card is not None:
        await run_step(push_card(engine, card))
    await run_step(push_request(engine, clock, decided))
    return request_id


async def decline_introduction(
    engine: AsyncEngine, clock: Clock, owner_id: UUID, *, request_id: UUID, note: str | None
) -> UUID:
    """Decline a request; the asker sees it declined, with the note if one is given."""
    check_texts(note=note)
    now = clock.now()
    async with engine.begin() as conn:
        found = (await conn.execute(_incoming(request_id, owner_id))).mappings().first()
        _check_pending(found, request_id)
        decided = (
            (
                await conn.execute(
                    sa.update(_requests)
                    .where(_r.owner_id == owner_id, _r.id == request_id)
                    .values(status="DECLINED", response=note, responded_at=now, peer_synced=False)
                    .returning(_requests)
                )
            )
            .mappings()
            .one()
        )
    await run_step(push_request(engine, clock, decided))
    return request_id
