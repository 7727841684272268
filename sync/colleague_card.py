"""Sharing a contact card with a colleague: a copy of chosen fields, accepted or dismissed.

The card is a snapshot taken when it is shared (name, and any of company, title, emails,
phones, urls; never notes or interactions), so later edits stay private. Accepting it writes a
new contact through the write path, with where it came from in ``howWeMet``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from model.clock import Clock
from model.errors import Conflict, NotFound, RateLimited
from model.text import MAX_TEXT
from store import ratelimits, tables
from sync.colleague_peer import log_received_introduction, push_card, run_step
from sync.contact import create_contact
from sync.entity import new_id
from sync.writer import Writer, open_writer

# The fields a card may carry, as GraphQL names them; the name always travels.
CARD_FIELDS = ("company", "title", "emails", "phones", "urls")
# Cards a user may share: 50 a day, as a burst then one every ~29 minutes (store.ratelimits),
# so a hostile colleague cannot flood someone's incoming cards.
SHARE_SCOPE = "colleague-share"
SHARE_LIMIT = 50
SHARE_PERIOD = timedelta(days=1)

_l = tables.colleagues.c
_cards = tables.shared_cards
_c = tables.contacts.c


async def require_active_link(
    conn: AsyncConnection, owner_id: UUID, link_id: UUID
) -> sa.RowMapping:
    """Return the owner's link if it is active; NotFound if it is not theirs, else Conflict."""
    link = (
        (
            await conn.execute(
                sa.select(tables.colleagues).where(_l.owner_id == owner_id, _l.id == link_id)
            )
        )
        .mappings()
        .first()
    )
    if link is None:
        raise NotFound("colleague", link_id)
    if link["status"] != "ACTIVE" or link["peer_id"] is None:
        raise Conflict(
            f"Your colleague link with {link['peer_name']} has ended; nothing crosses it now."
        )
    # The colleague may have ended it a moment ago, before their step reached this side.
    peer_side = await conn.scalar(
        sa.select(_l.status).where(_l.owner_id == link["peer_id"], _l.id == link_id)
    )
    if peer_side == "ENDED":
        raise Conflict(f"{link['peer_name']} ended your colleague link; nothing crosses it now.")
    return link


def card_fields(contact: sa.RowMapping, fields: Iterable[str]) -> dict[str, Any]:
    """Return the snapshot of a contact's chosen fields, as a contact patch."""
    card: dict[str, Any] = {"firstName": contact["first_name"]}
    if contact["last_name"]:
        card["lastName"] = contact["last_name"]
    columns = {"company": "company", "title": "title"}
    for field in dict.fromkeys(fields):
        value = contact[columns.get(field, field)]
        if value:
            card[field] = value
    return card


async def load_contact(conn: AsyncConnection, owner_id: UUID, contact_id: UUID) -> sa.RowMapping:
    query = sa.select(tables.contacts).where(
        _c.owner_id == owner_id, _c.id == contact_id, _c.cl % 2 == 1
    )
    contact = (await conn.execute(query)).mappings().first()
    if contact is None:
        raise NotFound("contact", contact_id)
    return contact


async def insert_card(
    conn: AsyncConnection,
    *,
    owner_id: UUID,
    link_id: UUID,
    contact: sa.RowMapping,
    fields: Iterable[str],
    note: str | None,
    now: datetime,
    introduction_id: UUID | None = None,
) -> sa.RowMapping:
    """Record a card the owner shares (direction OUT); the colleague's copy follows."""
    insert = (
        sa.insert(_cards)
        .values(
            owner_id=owner_id,
            id=new_id(),
            link_id=link_id,
            direction="OUT",
            card=card_fields(contact, fields),
            note=note,
            status="PENDING",
            contact_id=contact["id"],
            introduction_id=introduction_id,
            created_at=now,
        )
        .returning(_cards)
    )
    card: sa.RowMapping = (await conn.execute(insert)).mappings().one()
    return card


async def share_contact(
    engine: AsyncEngine,
    owner_id: UUID,
    *,
    link_id: UUID,
    contact_id: UUID,
    note: str | None,
    fields: Iterable[str],
    now: datetime,
) -> UUID:
    """Share a copy of one of the owner's contacts with a colleague; return the card's id."""
    async with engine.begin() as conn:
        await require_active_link(conn, owner_id, link_id)
        contact = await load_contact(conn, owner_id, contact_id)
        # A refused take changes nothing, so raising here leaves nothing half-written.
        wait = await ratelimits.take_request(
            conn, scope=SHARE_SCOPE, key=str(owner_id), limit=SHARE_LIMIT, period=SHARE_PERIOD
        )
        if wait is not None:
            raise RateLimited(max(1, int(wait.total_seconds()) + 1))
        card = await insert_card(
            conn,
            owner_id=owner_id,
            link_id=link_id,
            contact=contact,
            fields=fields,
            note=note,
            now=now,
        )
    await run_step(push_card(engine, card))
    card_id: UUID = card["id"]
    return card_id


async def _incoming(w: Writer, card_id: UUID) -> sa.RowMapping:
    query = (
        sa.select(_cards)
        .where(_cards.c.owner_id == w.owner_id, _cards.c.id == card_id, _cards.c.direction == "IN")
        .with_for_update()
    )
    card = (await w.conn.execute(query)).mappings().first()
    if card is None:
        raise NotFound("shared card", card_id)
    status = card["status"]
    if status == "ACCEPTED":
        raise Conflict(f"You accepted this card already: it is contact {card['contact_id']}.")
    if status == "DISMISSED":
        raise Conflict("You dismissed this card; ask your colleague to share it again.")
    if status != "PENDING":
        raise Conflict("Your colleague link ended before you answered; this card is closed.")
    return card


async def accept_shared_card(
    engine: AsyncEngine, clock: Clock, owner_id: UUID, card_id: UUID
) -> UUID:
    """Add a shared card to the owner's contacts, noting who shared it and when."""
    async with open_writer(engine, owner_id, clock) as w:
        card = await _incoming(w, card_id)
        link = await require_active_link(w.conn, owner_id, card["link_id"])
        day = w.now.astimezone(ZoneInfo(w.time_zone)).date().isoformat()
        provenance = f"Shared by {link['peer_name']} (a colleague) on {day}"
        if card["note"]:
            provenance += f": {card['note']}"
        contact = await create_contact(
            w, new_id(), {**card["card"], "howWeMet": provenance[:MAX_TEXT]}
        )
        decided = (
            (
                await w.conn.execute(
                    sa.update(_cards)
                    .where(_cards.c.owner_id == owner_id, _cards.c.id == card_id)
                    .values(
                        status="ACCEPTED",
                        contact_id=contact["id"],
                        responded_at=w.now,
                        peer_synced=False,
                    )
                    .returning(_cards)
                )
            )
            .mappings()
            .one()
        )
        if card["introduction_id"] is not None:
            await _log_with_card(w, card["introduction_id"], contact["id"])
    await run_step(push_card(engine, decided))
    return card_id


async def _log_with_card(w: Writer, request_id: UUID, contact_id: UUID) -> None:
    # The introduction this card came with is logged now if the asker had no contact for it.
    r = tables.introduction_requests.c
    request = (
        (
            await w.conn.execute(
                sa.select(tables.introduction_requests).where(
                    r.owner_id == w.owner_id,
                    r.id == request_id,
                    r.direction == "OUT",
                    r.status == "ACCEPTED",
                )
            )
        )
        .mappings()
        .first()
    )
    if request is not None:
        await log_received_introduction(w, request, contact_id)


async def dismiss_shared_card(
    engine: AsyncEngine, clock: Clock, owner_id: UUID, card_id: UUID
) -> UUID:
    """Dismiss a card shared with the owner; the sender sees it dismissed."""
    now = clock.now()
    async with engine.begin() as conn:
        query = (
            sa.select(_cards)
            .where(
                _cards.c.owner_id == owner_id, _cards.c.id == card_id, _cards.c.direction == "IN"
            )
            .with_for_update()
        )
        card = (await conn.execute(query)).mappings().first()
        if card is None:
            raise NotFound("shared card", card_id)
        if card["status"] != "PENDING":
            raise Conflict(f"This card is {card['status'].lower()} already; nothing to dismiss.")
        decided = (
            (
                await conn.execute(
                    sa.update(_cards)
                    .where(_cards.c.owner_id == owner_id, _cards.c.id == card_id)
                    .values(status="DISMISSED", responded_at=now, peer_synced=False)
                    .returning(_cards)
                )
            )
            .mappings()
            .one()
        )
    await run_step(push_card(engine, decided))
    return card_id
