"""Colleague links between two accounts: invitations by email, accepting, declining, ending.

An invitation names an email address, not an account, so ``inviteColleague`` answers the same
whether the address has an account or not (and the invitation still waits if it signs up
within ``INVITATION_DAYS``). Only an account whose email is verified invites, and sees, accepts
or declines the invitations sent to it: anyone can sign up with an address. Nothing is shared
by a link itself; links are not synced to devices (docs/sync.md). Each side's link row is its
owner's; the other side's row follows in its own transaction (sync/colleague_peer.py).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import EmailStr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from model.errors import (
    Conflict,
    EmailNotVerified,
    FieldError,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from store import accounts, ratelimits, tables
from sync.colleague_peer import end_pending_items, push_link, run_step
from sync.entity import new_id

INVITATION_DAYS = 30
# Invitations a user may send: 20 a day, as a burst then one every 72 minutes (store.ratelimits).
INVITE_SCOPE = "colleague-invite"
INVITE_LIMIT = 20
INVITE_PERIOD = timedelta(days=1)
# Accepting takes a transaction lock on the pair of accounts first, so two people accepting each
# other's invitations at once make one link, not two with different ids (or a deadlock between
# their invitation rows). Seeds the hash, so these keys are not another lock's.
PAIR_LOCK_SEED = 1_807_336_118
_LOCK_PAIR = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:pair, :seed))").bindparams(
    seed=PAIR_LOCK_SEED
)

_email = TypeAdapter(EmailStr)
_i = tables.colleague_invitations.c
_l = tables.colleagues.c


def normalize_email(email: str) -> str:
    """Return the address as accounts store it, or raise ValidationFailed."""
    try:
        return str(_email.validate_python(email.strip().lower()))
    except PydanticValidationError:
        raise ValidationFailed(
            [FieldError("email", f"{email[:200]!r} is not an email address like ada@example.com")]
        ) from None


def email_digest(email: str) -> bytes:
    return hashlib.sha256(email.encode()).digest()


async def invite_colleague(
    engine: AsyncEngine, owner_id: UUID, email: str, now: datetime
) -> sa.RowMapping:
    """Invite an address to link as colleagues; inviting it again renews the invitation."""
    address = normalize_email(email)
    async with engine.begin() as conn:
        me = await accounts.get_user(conn, user_id=owner_id)
        assert me is not None
        if me["email_verified_at"] is None:
            # The invitee is shown the inviter's email as who is asking: it must be theirs.
            raise EmailNotVerified(
                "Confirm your email first (the link sent to it, or requestEmailVerification): "
                "the people you invite see it as yours."
            )
        if me["email"] == address:
            raise ValidationFailed(
                [FieldError("email", "that is your own address; invite a colleague's")]
            )
        wait = await ratelimits.take_request(
            conn, scope=INVITE_SCOPE, key=str(owner_id), limit=INVITE_LIMIT, period=INVITE_PERIOD
        )
    if wait is not None:
        raise RateLimited(max(1, int(wait.total_seconds()) + 1))
    async with engine.begin() as conn:
        # Only an existing colleague is named, which tells the inviter nothing new.
        linked = await conn.scalar(
            sa.select(_l.id)
            .join(tables.users, tables.users.c.id == _l.peer_id)
            .where(_l.owner_id == owner_id, _l.status == "ACTIVE", tables.users.c.email == address)
        )
        if linked is not None:
            raise Conflict(f"{address} is already your colleague (colleague id {linked}).")
        expires = now + timedelta(days=INVITATION_DAYS)
        insert = pg_insert(tables.colleague_invitations).values(
            id=new_id(),
            inviter_id=owner_id,
            email_hash=email_digest(address),
            email=address,
            status="PENDING",
            created_at=now,
            expires_at=expires,
        )
        upsert = insert.on_conflict_do_update(
            index_elements=["inviter_id", "email_hash"],
            index_where=sa.text("status = 'PENDING'"),
            set_={"expires_at": expires},
        ).returning(tables.colleague_invitations)
        invitation: sa.RowMapping = (await conn.execute(upsert)).mappings().one()
        return invitation


async def _invitation_for_me(
    conn: AsyncConnection, owner_id: UUID, invitation_id: UUID, now: datetime
) -> tuple[sa.RowMapping, sa.RowMapping]:
    """Lock an invitation addressed to the owner's email and return it with its inviter.

    Another account's invitation, or one addressed elsewhere, is NotFound; a decided or
    expired one is a Conflict that says so.
    """
    me = await accounts.get_user(conn, user_id=owner_id)
    assert me is not None
    if me["email_verified_at"] is None:
        # Whoever signed up with an address has not shown it is theirs: an invitation to it
        # is not for them yet. Said before any lookup, so it tells nothing of the id.
        raise EmailNotVerified(
            "Confirm your email first (the link sent to it, or requestEmailVerification); "
            "then the invitations sent to it can be accepted or declined."
        )
    query = (
        sa.select(tables.colleague_invitations)
        .where(_i.id == invitation_id, _i.email_hash == email_digest(me["email"] or ""))
        .with_for_update()
    )
    invitation = (await conn.execute(query)).mappings().first()
    if invitation is None or invitation["inviter_id"] == owner_id or me["email"] is None:
        raise NotFound("colleague invitation", invitation_id)
    inviter = await accounts.get_user(conn, user_id=invitation["inviter_id"])
    assert inviter is not None
    name = inviter["display_name"] or inviter["email"]
    status = invitation["status"]
    if status == "ACCEPTED":
        raise Conflict(f"You accepted this invitation already: {name} is your colleague.")
    if status == "DECLINED":
        raise Conflict(f"You declined this invitation; ask {name} to invite you again.")
    if status != "PENDING":
        raise Conflict(f"This invitation has ended; ask {name} to invite you again.")
    if invitation["expires_at"] <= now:
        day = invitation["expires_at"].date().isoformat()
        raise Conflict(f"This invitation expired on {day}; ask {name} to invite you again.")
    return invitation, inviter


async def accept_colleague(
    engine: AsyncEngine, owner_id: UUID, invitation_id: UUID, now: datetime
) -> sa.RowMapping:
    """Accept an invitation: this side's link now, the inviter's in their own transaction."""
    async with engine.begin() as conn:
        inviter_id = await conn.scalar(sa.select(_i.inviter_id).where(_i.id == invitation_id))
        if inviter_id is not None:
            pair = ":".join(sorted((str(owner_id), str(inviter_id))))
            await conn.execute(_LOCK_PAIR, {"pair": pair})
        invitation, inviter = await _invitation_for_me(conn, owner_id, invitation_id, now)
        await conn.execute(
            sa.update(tables.colleague_invitations)
            .where(_i.id == invitation_id)
            .values(status="ACCEPTED", responded_at=now)
        )
        # The link answers any invitation between the two the other way too: left pending, it
        # would let one side link again, without being asked, after the other ended the link.
        await conn.execute(
            sa.update(tables.colleague_invitations)
            .where(
                _i.inviter_id == owner_id,
                _i.email_hash == email_digest(inviter["email"] or ""),
                _i.status == "PENDING",
                _i.expires_at > now,
            )
            .values(status="ACCEPTED", responded_at=now)
        )
        existing = (
            (
                await conn.execute(
                    sa.select(tables.colleagues).where(
                        _l.owner_id == owner_id, _l.peer_id == inviter["id"], _l.status == "ACTIVE"
                    )
                )
            )
            .mappings()
            .first()
        )
        if existing is not None:
            # Both invited each other: one link is enough.
            return existing
        link: sa.RowMapping = (
            (
                await conn.execute(
                    sa.insert(tables.colleagues)
                    .values(
                        owner_id=owner_id,
                        id=invitation["id"],
                        peer_id=inviter["id"],
                        peer_name=inviter["display_name"] or inviter["email"] or "",
                        peer_email=inviter["email"] or "",
                        status="ACTIVE",
                        linked_at=now,
                    )
                    .returning(tables.colleagues)
                )
            )
            .mappings()
            .one()
        )
    await run_step(push_link(engine, link, now))
    return link


async def decline_colleague(
    engine: AsyncEngine, owner_id: UUID, invitation_id: UUID, now: datetime
) -> dict[str, Any]:
    """Decline an invitation addressed to the owner; return it as the invitee sees it."""
    async with engine.begin() as conn:
        invitation, inviter = await _invitation_for_me(conn, owner_id, invitation_id, now)
        await conn.execute(
            sa.update(tables.colleague_invitations)
            .where(_i.id == invitation_id)
            .values(status="DECLINED", responded_at=now)
        )
    return {
        **dict(invitation),
        "status": "DECLINED",
        "responded_at": now,
        "inviter_name": inviter["display_name"] or inviter["email"],
        "inviter_email": inviter["email"],
    }


async def end_colleague(
    engine: AsyncEngine, owner_id: UUID, link_id: UUID, now: datetime
) -> sa.RowMapping:
    """End a link from this side; ending an ended link changes nothing."""
    async with engine.begin() as conn:
        ended: sa.RowMapping | None = (
            (
                await conn.execute(
                    sa.update(tables.colleagues)
                    .where(_l.owner_id == owner_id, _l.id == link_id, _l.status == "ACTIVE")
                    .values(status="ENDED", ended_by="YOU", ended_at=now, peer_synced=False)
                    .returning(tables.colleagues)
                )
            )
            .mappings()
            .first()
        )
        if ended is None:
            current: sa.RowMapping | None = (
                (
                    await conn.execute(
                        sa.select(tables.colleagues).where(
                            _l.owner_id == owner_id, _l.id == link_id
                        )
                    )
                )
                .mappings()
                .first()
            )
            if current is None:
                raise NotFound("colleague", link_id)
            return current
        await end_pending_items(conn, owner_id, link_id)
    await run_step(push_link(engine, ended, now))
    return ended


async def end_account_links(engine: AsyncEngine, owner_id: UUID, now: datetime) -> None:
    """Before an account is deleted: end its links on both sides.

    The account's own rows go with it (ON DELETE CASCADE: its links, cards, requests and the
    invitations it sent); each colleague's link and pending items end in that colleague's
    transaction, so they read "ended" rather than an error. If the deletion stops half-way,
    the colleague's ``peer_id`` is cleared by the foreign key and reads show the link ended all
    the same. Invitations sent *to* the account's address stay as they are: they were sent to
    an address, and ending them would tell their senders the address had an account.
    """
    async with engine.begin() as conn:
        links = (
            (
                await conn.execute(
                    sa.update(tables.colleagues)
                    .where(_l.owner_id == owner_id, _l.status == "ACTIVE")
                    .values(status="ENDED", ended_by="ACCOUNT_DELETED", ended_at=now)
                    .returning(tables.colleagues)
                )
            )
            .mappings()
            .all()
        )
    for link in links:
        await push_link(engine, link, now)
