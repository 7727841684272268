"""Colleague links over HTTP: invitations, accepting, declining, ending, deleted accounts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID, uuid4

import httpx
import sqlalchemy as sa
from starlette.applications import Starlette

from store import tables
from sync.colleague import INVITE_LIMIT
from tests.api.colleague_support import (
    ACCEPT,
    DECLINE,
    END,
    call,
    colleagues,
    invitations,
    invite,
    link,
)
from tests.api.graphql import data, sign_up, verify_email

DELETE = "mutation($p: String!) { deleteAccount(input: {password: $p}) { __typename } }"


async def test_an_invitation_reads_the_same_whether_the_address_has_an_account(
    http: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(http, verified=True), await sign_up(http, verified=True)
    known = await invite(http, alice, bob.email)
    unknown = await invite(http, alice, "nobody-here@example.com")
    assert known["__typename"] == unknown["__typename"] == "ColleagueInvitation"
    for answer in (known, unknown):
        assert answer["status"] == "PENDING"
        assert answer["name"] is None
        assert answer["direction"] == "OUTGOING"
    assert set(known) == set(unknown)
    outgoing = (await invitations(http, alice))["outgoing"]
    assert {i["email"] for i in outgoing} == {bob.email, "nobody-here@example.com"}
    assert {i["status"] for i in outgoing} == {"PENDING"}


async def test_an_address_that_signs_up_later_can_accept_once_it_is_verified(
    http: httpx.AsyncClient,
) -> None:
    alice = await sign_up(http, verified=True)
    # No account has this address when the invitation is sent.
    address = f"later-{uuid4().hex[:10]}@example.com"
    sent = await invite(http, alice, address.upper())
    assert sent["email"] == address
    # Whoever signs up with it has not shown the mailbox is theirs: nothing of Alice shows.
    newcomer = await sign_up(http, email=address)
    me = "{ me { emailVerified } }"
    assert (await data(http, me, token=newcomer.token))["me"] == {"emailVerified": False}
    assert await invitations(http, newcomer) == {
        "incomingHidden": True,
        "incoming": [],
        "outgoing": [],
    }
    for mutation in (ACCEPT, DECLINE):
        refused = await call(http, mutation, newcomer, id=sent["id"])
        assert refused["__typename"] == "EmailUnverified", refused
        assert "Confirm your email" in refused["message"]
    assert await colleagues(http, newcomer) == []
    assert (await invitations(http, alice))["outgoing"][0]["status"] == "PENDING"
    # Nor can it invite anyone in an address it has not proven (the invitee would see it).
    posing = await invite(http, newcomer, alice.email)
    assert posing["__typename"] == "EmailUnverified", posing
    assert (await invitations(http, alice))["incoming"] == []

    # The link mailed at sign-up proves it (through the app's Outbox, as a user would).
    await verify_email(http, newcomer)
    assert (await data(http, me, token=newcomer.token))["me"] == {"emailVerified": True}
    seen = await invitations(http, newcomer)
    assert seen["incomingHidden"] is False
    assert [(i["id"], i["email"]) for i in seen["incoming"]] == [(sent["id"], alice.email)]
    accepted = await call(http, ACCEPT, newcomer, id=sent["id"])
    assert accepted["__typename"] == "Colleague", accepted
    assert [c["email"] for c in await colleagues(http, alice)] == [address]


async def test_an_address_registered_again_after_deletion_needs_verifying(
    http: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(http, verified=True), await sign_up(http, verified=True)
    sent = await invite(http, alice, bob.email)
    deleted = await data(
        http,
        "mutation($p: String!) { deleteAccount(input: {password: $p}) { __typename } }",
        {"p": bob.password},
        bob.token,
    )
    assert deleted["deleteAccount"]["__typename"] == "AccountDeleted", deleted
    # Someone else registers the freed address: the old owner's proof does not carry over.
    again = await sign_up(http, email=bob.email)
    assert (await invitations(http, again))["incoming"] == []
    refused = await call(http, ACCEPT, again, id=sent["id"])
    assert refused["__typename"] == "EmailUnverified", refused


async def test_accepting_links_both_sides_once(http: httpx.AsyncClient) -> None:
    alice, bob, link_id = await link(http)
    (mine,) = await colleagues(http, alice)
    (theirs,) = await colleagues(http, bob)
    assert mine["id"] == theirs["id"] == link_id
    assert (mine["email"], mine["status"]) == (bob.email, "ACTIVE")
    assert (theirs["email"], theirs["status"]) == (alice.email, "ACTIVE")
    assert (await invitations(http, bob))["incoming"] == []
    assert (await invitations(http, alice))["outgoing"][0]["status"] == "ACCEPTED"

    again = await call(http, ACCEPT, bob, id=link_id)
    assert again["__typename"] == "Conflict"
    assert "accepted this invitation already" in again["message"]
    declined = await call(http, DECLINE, bob, id=link_id)
    assert declined["__typename"] == "Conflict"
    assert len(await colleagues(http, bob)) == 1

    existing = await invite(http, alice, bob.email)
    assert existing["__typename"] == "Conflict"
    assert "already your colleague" in existing["message"]


async def test_only_the_invited_address_can_answer_an_invitation(http: httpx.AsyncClient) -> None:
    alice, bob, eve = (
        await sign_up(http, verified=True),
        await sign_up(http, verified=True),
        await sign_up(http, verified=True),
    )
    sent = await invite(http, alice, bob.email)
    for who in (eve, alice):
        for query in (ACCEPT, DECLINE):
            answer = await call(http, query, who, id=sent["id"])
            assert answer["__typename"] == "NotFound", answer
            assert answer["entity"] == "colleague invitation"
    assert await colleagues(http, eve) == []
    assert (await invitations(http, eve))["incoming"] == []
    bad = await call(http, ACCEPT, bob, id="not-an-id")
    assert bad["__typename"] == "ValidationError"
    assert bad["fields"][0]["field"] == "invitationId"


async def test_a_declined_invitation_cannot_be_accepted(http: httpx.AsyncClient) -> None:
    alice, bob = await sign_up(http, verified=True), await sign_up(http, verified=True)
    sent = await invite(http, alice, bob.email)
    declined = await call(http, DECLINE, bob, id=sent["id"])
    assert declined["__typename"] == "ColleagueInvitation"
    assert (declined["status"], declined["email"]) == ("DECLINED", alice.email)
    late = await call(http, ACCEPT, bob, id=sent["id"])
    assert late["__typename"] == "Conflict"
    assert "declined" in late["message"]
    assert await colleagues(http, bob) == await colleagues(http, alice) == []
    assert (await invitations(http, alice))["outgoing"][0]["status"] == "DECLINED"
    # A new invitation can be accepted.
    again = await invite(http, alice, bob.email)
    assert again["id"] != sent["id"]
    assert (await call(http, ACCEPT, bob, id=again["id"]))["__typename"] == "Colleague"


async def test_an_expired_invitation_says_so(http: httpx.AsyncClient, api_app: Starlette) -> None:
    alice, bob = await sign_up(http, verified=True), await sign_up(http, verified=True)
    sent = await invite(http, alice, bob.email)
    i = tables.colleague_invitations.c
    async with api_app.state.engine.begin() as conn:
        # Move the invitation 31 days into the past, as the rate limit tests move time.
        await conn.execute(
            sa.update(tables.colleague_invitations)
            .where(i.id == UUID(sent["id"]))
            .values(expires_at=i.expires_at - timedelta(days=31))
        )
    assert (await invitations(http, bob))["incoming"] == []
    assert (await invitations(http, alice))["outgoing"][0]["status"] == "EXPIRED"
    late = await call(http, ACCEPT, bob, id=sent["id"])
    assert late["__typename"] == "Conflict"
    assert "expired on" in late["message"]
    assert "invite you again" in late["message"]


async def test_bad_addresses_are_refused_and_invitations_are_rate_limited(
    http: httpx.AsyncClient,
) -> None:
    alice = await sign_up(http, verified=True)
    own = await invite(http, alice, alice.email)
    assert own["__typename"] == "ValidationError"
    assert "your own address" in own["fields"][0]["message"]
    bad = await invite(http, alice, "not an address")
    assert bad["__typename"] == "ValidationError"
    assert bad["fields"][0]["field"] == "email"
    for n in range(INVITE_LIMIT):
        assert (await invite(http, alice, f"someone-{n}@example.com"))["__typename"] == (
            "ColleagueInvitation"
        )
    limited = await invite(http, alice, "one-too-many@example.com")
    assert limited["__typename"] == "RateLimited"
    assert limited["retryAfter"] > 0
    outgoing = (await invitations(http, alice))["outgoing"]
    assert "one-too-many@example.com" not in {i["email"] for i in outgoing}


async def test_either_side_ends_a_link_for_both(http: httpx.AsyncClient) -> None:
    alice, bob, link_id = await link(http)
    eve = await sign_up(http, verified=True)
    assert (await call(http, END, eve, id=link_id))["__typename"] == "NotFound"
    ended = await call(http, END, bob, id=link_id)
    assert (ended["status"], ended["endedBy"]) == ("ENDED", "YOU")
    (alices,) = await colleagues(http, alice)
    assert (alices["status"], alices["endedBy"]) == ("ENDED", "COLLEAGUE")
    again = await call(http, END, alice, id=link_id)
    assert (again["status"], again["endedBy"]) == ("ENDED", "COLLEAGUE")
    # They can link again with a new invitation.
    renewed = await invite(http, alice, bob.email)
    assert (await call(http, ACCEPT, bob, id=renewed["id"]))["__typename"] == "Colleague"
    statuses = sorted(c["status"] for c in await colleagues(http, alice))
    assert statuses == ["ACTIVE", "ENDED"]


async def test_deleting_an_account_ends_its_links_and_invitations(
    http: httpx.AsyncClient,
) -> None:
    alice, bob, _ = await link(http)
    carol = await sign_up(http, verified=True)
    await invite(http, bob, carol.email)
    pending = await invite(http, carol, bob.email)
    assert (await data(http, DELETE, {"p": bob.password}, bob.token))["deleteAccount"][
        "__typename"
    ] == "AccountDeleted"
    (alices,) = await colleagues(http, alice)
    assert (alices["status"], alices["endedBy"]) == ("ENDED", "ACCOUNT_DELETED")
    assert (await invitations(http, carol))["incoming"] == []
    # Carol's invitation to Bob's address reads as before: it tells her nothing of his account.
    sent = {i["id"]: i["status"] for i in (await invitations(http, carol))["outgoing"]}
    assert sent == {pending["id"]: "PENDING"}


async def test_accepting_the_same_invitation_at_once_links_once(http: httpx.AsyncClient) -> None:
    alice, bob = await sign_up(http, verified=True), await sign_up(http, verified=True)
    sent = await invite(http, alice, bob.email)
    answers = await asyncio.gather(*(call(http, ACCEPT, bob, id=sent["id"]) for _ in range(3)))
    assert sorted(a["__typename"] for a in answers) == ["Colleague", "Conflict", "Conflict"]
    assert len(await colleagues(http, alice)) == len(await colleagues(http, bob)) == 1


async def test_a_link_closes_the_invitations_both_ways_so_an_ended_one_stays_ended(
    http: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(http, verified=True), await sign_up(http, verified=True)
    to_bob = await invite(http, alice, bob.email)
    to_alice = await invite(http, bob, alice.email)
    linked = await call(http, ACCEPT, alice, id=to_alice["id"])
    assert linked["__typename"] == "Colleague"
    assert (await invitations(http, bob))["incoming"] == []
    assert (await call(http, END, alice, id=linked["id"]))["status"] == "ENDED"
    # Alice's invitation, sent before they linked, does not let Bob link again once she ended it.
    late = await call(http, ACCEPT, bob, id=to_bob["id"])
    assert late["__typename"] == "Conflict", late
    assert [c["status"] for c in await colleagues(http, alice)] == ["ENDED"]
    assert [c["status"] for c in await colleagues(http, bob)] == ["ENDED"]


async def test_accepting_each_others_invitations_at_once_answers_both(
    http: httpx.AsyncClient,
) -> None:
    for _ in range(5):
        alice, bob = await sign_up(http, verified=True), await sign_up(http, verified=True)
        to_bob = await invite(http, alice, bob.email)
        to_alice = await invite(http, bob, alice.email)
        answers = await asyncio.gather(
            call(http, ACCEPT, bob, id=to_bob["id"]), call(http, ACCEPT, alice, id=to_alice["id"])
        )
        # One link, the same on both sides: the second accept finds the pair linked.
        assert sorted(a["__typename"] for a in answers) == ["Colleague", "Conflict"]
        (mine,) = await colleagues(http, alice)
        (theirs,) = await colleagues(http, bob)
        assert mine["id"] == theirs["id"]
