"""Shared cards and warm introductions over HTTP, each cross-account step tried for isolation."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from starlette.applications import Starlette

from store import tables
from tests.api.colleague_support import (
    ACCEPT_CARD,
    ACCEPT_INTRO,
    ASK,
    CARDS,
    DECLINE_INTRO,
    DISMISS_CARD,
    END,
    REQUESTS,
    SHARE,
    call,
    link,
)
from tests.api.colleague_support import (
    INVITE as INVITE_ONE,
)
from tests.api.graphql import Account, create_contact, data
from tests.api.test_export import download, read_json, request_export
from tests.api.test_networking import SUMMARY, create_goal, today

CONTACT = """
query($id: ID!) { contact(id: $id) { ... on Contact {
  firstName lastName company title howWeMet notes emails { value } phones { value }
  interactions(first: 5) { nodes { kind summary } }
} } }
"""
INTERACTIONS = "{ interactions(first: 20) { nodes { id kind summary contacts { id } } } }"
DELETE = "mutation($p: String!) { deleteAccount(input: {password: $p}) { __typename } }"


async def grace(http: httpx.AsyncClient, who: Account) -> dict[str, Any]:
    return await create_contact(
        http,
        who.token,
        firstName="Grace",
        lastName="Hopper",
        company="Navy",
        title="Rear admiral",
        emails=[{"label": "work", "value": "grace@navy.example"}],
        phones=[{"label": "mobile", "value": "+1 555 0100"}],
        notes="Owes me a nanosecond",
    )


async def cards(http: httpx.AsyncClient, who: Account, direction: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await data(http, CARDS, {"d": direction}, who.token))[
        "sharedCards"
    ]
    return rows


async def requests(http: httpx.AsyncClient, who: Account, direction: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await data(http, REQUESTS, {"d": direction}, who.token))[
        "introductionRequests"
    ]
    return rows


async def contact(http: httpx.AsyncClient, who: Account, contact_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await data(http, CONTACT, {"id": contact_id}, who.token))["contact"]
    return found


async def test_a_shared_card_is_a_copy_of_the_chosen_fields(http: httpx.AsyncClient) -> None:
    alice, bob, link_id = await link(http)
    person = await grace(http, alice)
    shared = await call(
        http,
        SHARE,
        alice,
        c=link_id,
        contact=person["id"],
        note="Ask her about COBOL",
        fields=["COMPANY", "EMAILS"],
    )
    assert shared["__typename"] == "SharedCard", shared
    assert (shared["direction"], shared["status"], shared["contactId"]) == (
        "OUTGOING",
        "PENDING",
        person["id"],
    )
    (incoming,) = await cards(http, bob, "INCOMING")
    assert incoming["id"] == shared["id"]
    assert (incoming["firstName"], incoming["lastName"], incoming["company"]) == (
        "Grace",
        "Hopper",
        "Navy",
    )
    assert incoming["title"] is None
    assert incoming["phones"] == []
    assert incoming["emails"] == [{"label": "work", "value": "grace@navy.example"}]
    assert incoming["contactId"] is None
    assert incoming["colleagueName"] == alice.email
    # Edits after sharing stay private.
    await data(
        http,
        'mutation($id: ID!) { updateContact(id: $id, input: {company: "Yale"}) { __typename } }',
        {"id": person["id"]},
        alice.token,
    )
    assert (await cards(http, bob, "INCOMING"))[0]["company"] == "Navy"

    accepted = await call(http, ACCEPT_CARD, bob, id=shared["id"])
    assert accepted["status"] == "ACCEPTED"
    added = await contact(http, bob, accepted["contactId"])
    assert (added["firstName"], added["company"], added["title"], added["notes"]) == (
        "Grace",
        "Navy",
        None,
        None,
    )
    assert added["howWeMet"].startswith(f"Shared by {alice.email} (a colleague) on ")
    assert added["howWeMet"].endswith(": Ask her about COBOL")
    assert added["interactions"]["nodes"] == []
    (sent,) = await cards(http, alice, "OUTGOING")
    assert sent["status"] == "ACCEPTED"
    assert sent["contactId"] == person["id"]  # the sender never learns the new contact's id

    twice = await call(http, ACCEPT_CARD, bob, id=shared["id"])
    assert twice["__typename"] == "Conflict"
    assert "accepted this card already" in twice["message"]
    late = await call(http, DISMISS_CARD, bob, id=shared["id"])
    assert late["__typename"] == "Conflict"
    contacts = await data(http, "{ contacts(first: 10) { totalCount } }", token=bob.token)
    assert contacts["contacts"]["totalCount"] == 1


async def test_a_dismissed_card_adds_nothing(http: httpx.AsyncClient) -> None:
    alice, bob, link_id = await link(http)
    person = await grace(http, alice)
    shared = await call(http, SHARE, alice, c=link_id, contact=person["id"])
    dismissed = await call(http, DISMISS_CARD, bob, id=shared["id"])
    assert dismissed["status"] == "DISMISSED"
    again = await call(http, ACCEPT_CARD, bob, id=shared["id"])
    assert again["__typename"] == "Conflict"
    assert "dismissed" in again["message"]
    assert (await cards(http, alice, "OUTGOING"))[0]["status"] == "DISMISSED"
    contacts = await data(http, "{ contacts(first: 10) { totalCount } }", token=bob.token)
    assert contacts["contacts"]["totalCount"] == 0


async def test_cards_cross_only_an_active_link_of_ones_own(http: httpx.AsyncClient) -> None:
    alice, bob, link_id = await link(http)
    eve, mallory, other_link = await link(http)
    person = await grace(http, alice)
    eves = await grace(http, eve)
    # Another account's link, another account's contact, nobody's ids.
    for args in (
        {"c": other_link, "contact": person["id"]},
        {"c": link_id, "contact": eves["id"]},
        {"c": str(UUID(int=1)), "contact": person["id"]},
    ):
        refused = await call(http, SHARE, alice, **args)
        assert refused["__typename"] == "NotFound", refused
    assert (await call(http, SHARE, eve, c=link_id, contact=eves["id"]))["__typename"] == (
        "NotFound"
    )
    shared = await call(http, SHARE, alice, c=link_id, contact=person["id"])
    for who in (eve, mallory, alice):
        for query in (ACCEPT_CARD, DISMISS_CARD):
            answer = await call(http, query, who, id=shared["id"])
            assert answer["__typename"] == "NotFound", (who, answer)
    assert await cards(http, eve, "INCOMING") == []

    # Ending the link closes the pending card on both sides, and nothing more crosses.
    assert (await call(http, END, alice, id=link_id))["status"] == "ENDED"
    (closed,) = await cards(http, bob, "INCOMING")
    assert closed["status"] == "ENDED"
    refused = await call(http, ACCEPT_CARD, bob, id=shared["id"])
    assert refused["__typename"] == "Conflict"
    assert "ended" in refused["message"]
    after = await call(http, SHARE, alice, c=link_id, contact=person["id"])
    assert after["__typename"] == "Conflict"
    assert "ended" in after["message"]
    assert (await call(http, SHARE, bob, c=link_id, contact=person["id"]))["__typename"] in (
        "Conflict",
        "NotFound",
    )


async def test_an_accepted_introduction_is_logged_on_both_sides(http: httpx.AsyncClient) -> None:
    alice, bob, link_id = await link(http)
    person = await grace(http, bob)  # Bob's contact: Alice never sees it unless he shares it.
    wanted = await create_contact(http, alice.token, firstName="Someone at Navy")
    asked = await call(
        http,
        ASK,
        alice,
        c=link_id,
        whom="Someone at the Navy who knows COBOL",
        note="I'm writing a compiler",
        contact=wanted["id"],
    )
    assert (asked["direction"], asked["status"]) == ("OUTGOING", "PENDING")
    (incoming,) = await requests(http, bob, "INCOMING")
    assert (incoming["id"], incoming["whom"], incoming["note"]) == (
        asked["id"],
        "Someone at the Navy who knows COBOL",
        "I'm writing a compiler",
    )
    assert incoming["contactId"] is None  # Alice's contact stays hers

    accepted = await call(
        http,
        ACCEPT_INTRO,
        bob,
        id=asked["id"],
        contact=person["id"],
        share=False,
        note="Emailed you both",
    )
    assert (accepted["status"], accepted["contactId"]) == ("ACCEPTED", person["id"])
    assert accepted["sharedCardId"] is None
    (answered,) = await requests(http, alice, "OUTGOING")
    assert (answered["status"], answered["response"]) == ("ACCEPTED", "Emailed you both")
    assert answered["contactId"] == wanted["id"]
    assert answered["interactionId"] is not None
    # Nothing of Grace reached Alice: no card, and no text of Bob's contact.
    assert await cards(http, alice, "INCOMING") == []
    alices = await data(http, INTERACTIONS, token=alice.token)
    (logged,) = alices["interactions"]["nodes"]
    assert logged["kind"] == "INTRODUCTION"
    assert logged["contacts"] == [{"id": wanted["id"]}]
    assert "Grace" not in str(alices)
    (bobs,) = (await data(http, INTERACTIONS, token=bob.token))["interactions"]["nodes"]
    assert (bobs["kind"], bobs["contacts"]) == ("INTRODUCTION", [{"id": person["id"]}])
    assert bobs["id"] == accepted["interactionId"]

    # The introducer gave and the asker received; it counts towards the introducer's goal.
    span = {"from": today(), "to": today()}
    given = (await data(http, SUMMARY, span, bob.token))["networkSummary"]
    received = (await data(http, SUMMARY, span, alice.token))["networkSummary"]
    assert (given["given"], given["received"]) == (1, 0)
    assert (received["given"], received["received"]) == (0, 1)
    goal = await create_goal(http, bob, metric="MAKE_INTRODUCTIONS", period="WEEK", target=1)
    asked_for = await create_goal(http, alice, metric="MAKE_INTRODUCTIONS", period="WEEK", target=1)
    assert asked_for["progress"]["current"] == 0
    assert goal["progress"]["current"] == 1
    assert goal["progress"]["done"] is True

    twice = await call(http, ACCEPT_INTRO, bob, id=asked["id"], contact=person["id"], share=False)
    assert twice["__typename"] == "Conflict"
    assert "accepted" in twice["message"]
    assert (await call(http, DECLINE_INTRO, bob, id=asked["id"]))["__typename"] == "Conflict"
    assert len((await data(http, INTERACTIONS, token=bob.token))["interactions"]["nodes"]) == 1


async def test_a_shared_card_with_an_introduction_becomes_the_askers_contact(
    http: httpx.AsyncClient,
) -> None:
    alice, bob, link_id = await link(http)
    person = await grace(http, bob)
    asked = await call(http, ASK, alice, c=link_id, whom="Anyone who knows compilers")
    accepted = await call(http, ACCEPT_INTRO, bob, id=asked["id"], contact=person["id"], share=True)
    assert accepted["sharedCardId"] is not None
    (answered,) = await requests(http, alice, "OUTGOING")
    assert answered["interactionId"] is None  # no contact of Alice's yet to log it with
    (card,) = await cards(http, alice, "INCOMING")
    assert (card["id"], card["introductionId"]) == (accepted["sharedCardId"], asked["id"])
    assert card["firstName"] == "Grace"
    added = await call(http, ACCEPT_CARD, alice, id=card["id"])
    (answered,) = await requests(http, alice, "OUTGOING")
    assert answered["interactionId"] is not None
    nodes = (await contact(http, alice, added["contactId"]))["interactions"]["nodes"]
    assert [n["kind"] for n in nodes] == ["INTRODUCTION"]


async def test_introduction_requests_are_isolated(http: httpx.AsyncClient) -> None:
    alice, bob, link_id = await link(http)
    eve, _, eves_link = await link(http)
    person = await grace(http, bob)
    eves = await grace(http, eve)
    blank = await call(http, ASK, alice, c=link_id, whom="  ")
    assert blank["__typename"] == "ValidationError"
    assert blank["fields"][0]["field"] == "whom"
    assert (await call(http, ASK, alice, c=eves_link, whom="x"))["__typename"] == "NotFound"
    mine = await call(http, ASK, alice, c=link_id, whom="x", contact=eves["id"])
    assert mine["__typename"] == "NotFound"
    assert mine["entity"] == "contact"

    asked = await call(http, ASK, alice, c=link_id, whom="Someone in the Navy")
    # The asker cannot answer their own request, nor can anyone else.
    for who in (alice, eve):
        answer = await call(
            http, ACCEPT_INTRO, who, id=asked["id"], contact=person["id"], share=True
        )
        assert answer["__typename"] == "NotFound", answer
        assert (await call(http, DECLINE_INTRO, who, id=asked["id"]))["__typename"] == "NotFound"
    # The introducer must pick one of their own contacts.
    wrong = await call(http, ACCEPT_INTRO, bob, id=asked["id"], contact=eves["id"], share=True)
    assert wrong["__typename"] == "NotFound"
    assert wrong["entity"] == "contact"
    declined = await call(http, DECLINE_INTRO, bob, id=asked["id"], note="I don't know them")
    assert declined["status"] == "DECLINED"
    (theirs,) = await requests(http, alice, "OUTGOING")
    assert (theirs["status"], theirs["response"]) == ("DECLINED", "I don't know them")
    late = await call(http, ACCEPT_INTRO, bob, id=asked["id"], contact=person["id"], share=True)
    assert late["__typename"] == "Conflict"
    assert "declined" in late["message"]
    assert await cards(http, alice, "INCOMING") == []


async def test_deleting_an_account_closes_what_was_pending_with_it(
    http: httpx.AsyncClient,
) -> None:
    alice, bob, link_id = await link(http)
    person = await grace(http, bob)
    shared = await call(http, SHARE, bob, c=link_id, contact=person["id"])
    asked = await call(http, ASK, bob, c=link_id, whom="Your accountant")
    assert (await data(http, DELETE, {"p": bob.password}, bob.token))["deleteAccount"][
        "__typename"
    ] == "AccountDeleted"
    (card,) = await cards(http, alice, "INCOMING")
    (request,) = await requests(http, alice, "INCOMING")
    assert card["status"] == request["status"] == "ENDED"
    refused = await call(http, ACCEPT_CARD, alice, id=shared["id"])
    assert refused["__typename"] == "Conflict"
    mine = await create_contact(http, alice.token, firstName="Accountant")
    refused = await call(http, ACCEPT_INTRO, alice, id=asked["id"], contact=mine["id"], share=True)
    assert refused["__typename"] == "Conflict"


async def test_a_step_lost_between_the_two_transactions_is_replayed(
    http: httpx.AsyncClient, api_app: Starlette
) -> None:
    alice, bob, link_id = await link(http)
    asked = await call(http, ASK, alice, c=link_id, whom="Someone at Acme")
    r = tables.introduction_requests.c
    async with api_app.state.engine.begin() as conn:
        # As if the process died after Alice's transaction: Bob's copy never arrived.
        await conn.execute(
            sa.delete(tables.introduction_requests).where(
                r.id == UUID(asked["id"]), r.direction == "IN"
            )
        )
        await conn.execute(
            sa.update(tables.introduction_requests)
            .where(r.id == UUID(asked["id"]))
            .values(peer_synced=False)
        )
    assert await requests(http, bob, "INCOMING") == []
    # Alice's next colleague call applies the step again, once.
    assert len(await requests(http, alice, "OUTGOING")) == 1
    assert [x["id"] for x in await requests(http, bob, "INCOMING")] == [asked["id"]]
    assert len(await requests(http, alice, "OUTGOING")) == 1
    assert [x["id"] for x in await requests(http, bob, "INCOMING")] == [asked["id"]]


async def test_the_export_holds_ones_own_side_of_each_link(http: httpx.AsyncClient) -> None:
    alice, bob, link_id = await link(http)
    person = await grace(http, alice)
    shared = await call(http, SHARE, alice, c=link_id, contact=person["id"], fields=["COMPANY"])
    asked = await call(http, ASK, alice, c=link_id, whom="Someone at Acme")
    await call(http, INVITE_ONE, alice, e="pending-colleague@example.com")
    bobs = await grace(http, bob)
    archive = await download(http, await request_export(http, alice.token))
    (linked,) = read_json(archive, "colleagues.json")
    assert (linked["id"], linked["peer_email"], linked["status"]) == (link_id, bob.email, "ACTIVE")
    assert {i["email"] for i in read_json(archive, "colleague_invitations.json")} == {
        bob.email,
        "pending-colleague@example.com",
    }
    (card,) = read_json(archive, "shared_cards.json")
    assert (card["id"], card["direction"], card["card"]["company"]) == (
        shared["id"],
        "OUT",
        "Navy",
    )
    (request,) = read_json(archive, "introduction_requests.json")
    assert (request["id"], request["whom"]) == (asked["id"], "Someone at Acme")
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert bob.user_id.encode() not in everything
    assert bobs["id"].encode() not in everything
    assert b"email_hash" not in everything


async def test_two_accepts_at_once_add_one_contact(http: httpx.AsyncClient) -> None:
    alice, bob, link_id = await link(http)
    person = await grace(http, alice)
    shared = await call(http, SHARE, alice, c=link_id, contact=person["id"])
    answers = await asyncio.gather(
        *(call(http, ACCEPT_CARD, bob, id=shared["id"]) for _ in range(3))
    )
    assert sorted(a["__typename"] for a in answers) == ["Conflict", "Conflict", "SharedCard"]
    contacts = await data(http, "{ contacts(first: 10) { totalCount } }", token=bob.token)
    assert contacts["contacts"]["totalCount"] == 1


async def test_sharing_cards_is_limited_per_sender(http: httpx.AsyncClient) -> None:
    alice, bob, link_id = await link(http)
    person = await grace(http, alice)
    for _ in range(50):
        shared = await call(http, SHARE, alice, c=link_id, contact=person["id"])
        assert shared["__typename"] == "SharedCard", shared
    limited = await call(http, SHARE, alice, c=link_id, contact=person["id"])
    assert limited["__typename"] == "RateLimited"
    assert limited["retryAfter"] > 0
    # The refused card was not written, and the limit is the sender's: bob still shares.
    assert len(await cards(http, bob, "INCOMING")) == 50
    bobs = await grace(http, bob)
    back = await call(http, SHARE, bob, c=link_id, contact=bobs["id"])
    assert back["__typename"] == "SharedCard", back


async def test_asking_for_introductions_is_limited_per_sender(http: httpx.AsyncClient) -> None:
    alice, bob, link_id = await link(http)
    for n in range(20):
        asked = await call(http, ASK, alice, c=link_id, whom=f"Someone at Acme {n}")
        assert asked["__typename"] == "IntroductionRequest", asked
    limited = await call(http, ASK, alice, c=link_id, whom="One too many")
    assert limited["__typename"] == "RateLimited"
    assert limited["retryAfter"] > 0
    assert len(await requests(http, bob, "INCOMING")) == 20
    back = await call(http, ASK, bob, c=link_id, whom="Someone at Initech")
    assert back["__typename"] == "IntroductionRequest", back
