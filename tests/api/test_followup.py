"""Follow-ups over GraphQL: drafts that cite the notes, and first meetings owed a follow-up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.graphql import Account, create_contact, data, log_interaction, post, sign_up

DRAFT = """
query($i: ID!, $tone: FollowUpTone) {
  followUpDraft(interactionId: $i, tone: $tone) {
    __typename
    ... on FollowUpDraft {
      interaction { id kind } contacts { id } tone text
      sentences { text source { kind fact } }
    }
    ... on NotFound { entity id }
    ... on Deleted { entity id }
    ... on ValidationError { fields { field message } }
  }
}
"""
OWED = """
query($first: Int, $after: Int) {
  followUpsOwed(first: $first, afterDays: $after) {
    contact { id } interaction { id kind } daysSince reason
  }
}
"""


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def draft(
    http: httpx.AsyncClient, account: Account, interaction_id: str, tone: str | None = None
) -> Any:
    variables: dict[str, Any] = {"i": interaction_id}
    if tone is not None:
        variables["tone"] = tone
    return (await data(http, DRAFT, variables, account.token))["followUpDraft"]


async def owed(http: httpx.AsyncClient, account: Account, **variables: Any) -> Any:
    return (await data(http, OWED, variables, account.token))["followUpsOwed"]


async def name_me(http: httpx.AsyncClient, account: Account, name: str) -> None:
    await data(
        http,
        "mutation($n: String!) { updateMe(input: {displayName: $n}) { __typename } }",
        {"n": name},
        account.token,
    )


async def test_a_draft_thanks_cites_the_notes_and_never_another_users_data(
    http: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(http), await sign_up(http)
    await name_me(http, alice, "Alice Liddell")
    grace = await create_contact(
        http, alice.token, firstName="Grace", lastName="Hopper", interests=["mycology"]
    )
    lunch = await log_interaction(
        http,
        alice.token,
        [grace["id"]],
        kind="MEAL",
        summary="Lunch about compilers",
        body="Compilers, COBOL and mycology. I'll send her the COBOL paper.",
        occurredAt=days_ago(1),
    )
    bobs = await create_contact(http, bob.token, firstName="Grace", interests=["sailing"])
    await log_interaction(
        http,
        bob.token,
        [bobs["id"]],
        kind="MEETING",
        summary="Secret regatta plans",
        body="Let's follow up on the yacht purchase.",
        occurredAt=days_ago(1),
    )

    warm = await draft(http, alice, lunch["id"])
    assert warm["__typename"] == "FollowUpDraft"
    assert warm["tone"] == "WARM"
    assert warm["interaction"] == {"id": lunch["id"], "kind": "MEAL"}
    assert warm["contacts"] == [{"id": grace["id"]}]
    by_kind = {s["source"]["kind"]: s for s in warm["sentences"]}
    assert list(by_kind) == [
        "RECIPIENT",
        "INTERACTION",
        "OPEN_PROMISE",
        "TOPICS",
        "SHARED_INTEREST",
        "CADENCE",
        "SIGNATURE",
    ]
    assert by_kind["RECIPIENT"]["text"] == "Hi Grace,"
    assert by_kind["INTERACTION"]["text"].startswith("Thank you so much for sharing a meal")
    assert "Lunch about compilers" in by_kind["INTERACTION"]["source"]["fact"]
    assert by_kind["OPEN_PROMISE"]["text"] == "As promised, I'll send you the COBOL paper."
    assert by_kind["TOPICS"]["text"] == "I really enjoyed talking about compilers."
    assert by_kind["SHARED_INTEREST"]["source"]["fact"] == (
        "Grace Hopper's interests list “mycology”, and your notes mention it"
    )
    assert by_kind["CADENCE"]["source"]["fact"] == (
        "Grace Hopper is of NORMAL importance: every 60 days by default"
    )
    assert by_kind["SIGNATURE"]["text"] == "Warm wishes,\nAlice Liddell"
    assert warm["text"].startswith("Hi Grace,\n\nThank you so much")
    assert warm["text"].endswith("\n\nWarm wishes,\nAlice Liddell")
    every = str(warm).casefold()
    for secret in ("regatta", "yacht", "sailing"):
        assert secret not in every
    # The same facts give the same draft; another tone says it differently.
    assert await draft(http, alice, lunch["id"]) == warm
    formal = await draft(http, alice, lunch["id"], "FORMAL")
    assert formal["sentences"][0]["text"] == "Dear Grace Hopper,"
    assert formal["text"].endswith("Kind regards,\nAlice Liddell")
    brief = await draft(http, alice, lunch["id"], "BRIEF")
    assert "SHARED_INTEREST" not in [s["source"]["kind"] for s in brief["sentences"]]
    assert len(brief["text"]) < len(warm["text"])

    # Something given since keeps the promise: the draft no longer makes it.
    await log_interaction(
        http,
        alice.token,
        [grace["id"]],
        kind="EMAIL",
        summary="Paper",
        given="the COBOL paper",
        occurredAt=days_ago(0.5),
    )
    kept = await draft(http, alice, lunch["id"])
    assert "OPEN_PROMISE" not in [s["source"]["kind"] for s in kept["sentences"]]


async def test_unknown_foreign_deleted_and_unsuitable_interactions_get_typed_errors(
    http: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(http), await sign_up(http)
    ada = await create_contact(http, alice.token)
    call = await log_interaction(http, alice.token, [ada["id"]], kind="CALL", summary="Call")
    note = await log_interaction(http, alice.token, [ada["id"]], kind="NOTE", summary="A note")

    stolen = await draft(http, bob, call["id"])
    assert stolen == {"__typename": "NotFound", "entity": "interaction", "id": call["id"]}
    unknown = str(uuid.uuid4())
    assert (await draft(http, alice, unknown))["__typename"] == "NotFound"
    bad = await draft(http, alice, "not-an-id")
    assert bad["__typename"] == "ValidationError"
    assert bad["fields"][0]["field"] == "interactionId"
    unsuitable = await draft(http, alice, note["id"])
    assert unsuitable["__typename"] == "ValidationError"
    assert unsuitable["fields"][0]["field"] == "interactionId"
    assert "this interaction is a NOTE" in unsuitable["fields"][0]["message"]
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    planned = await log_interaction(
        http, alice.token, [ada["id"]], kind="MEETING", occurredAt=later
    )
    ahead = await draft(http, alice, planned["id"])
    assert ahead["__typename"] == "ValidationError"
    assert "a follow-up comes after it" in ahead["fields"][0]["message"]
    body = await post(http, DRAFT, {"i": call["id"], "tone": "SHOUTY"}, alice.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    # A deleted contact leaves no one to write to; restoring it brings the draft back.
    delete_contact = "mutation($c: ID!) { deleteContact(id: $c) { __typename } }"
    await data(http, delete_contact, {"c": ada["id"]}, alice.token)
    orphan = await draft(http, alice, call["id"])
    assert orphan["__typename"] == "ValidationError"
    assert "restore one" in orphan["fields"][0]["message"]
    restore = "mutation($c: ID!) { restoreContact(id: $c) { __typename } }"
    await data(http, restore, {"c": ada["id"]}, alice.token)
    assert (await draft(http, alice, call["id"]))["__typename"] == "FollowUpDraft"

    delete = "mutation($i: ID!) { deleteInteraction(id: $i) { __typename } }"
    await data(http, delete, {"i": call["id"]}, alice.token)
    deleted = await draft(http, alice, call["id"])
    assert deleted == {"__typename": "Deleted", "entity": "interaction", "id": call["id"]}
    # Bob cannot tell a deleted interaction of Alice's from one that never was.
    assert (await draft(http, bob, call["id"]))["__typename"] == "NotFound"


async def test_first_meetings_with_nothing_since_are_owed_a_follow_up(
    http: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(http), await sign_up(http)

    async def met(days: float, kind: str = "MEETING", **fields: Any) -> tuple[Any, Any]:
        person = await create_contact(http, alice.token, **fields)
        meeting = await log_interaction(
            http, alice.token, [person["id"]], kind=kind, occurredAt=days_ago(days)
        )
        return person, meeting

    waiting, waiting_meeting = await met(5, firstName="Waiting")
    longer, longer_meeting = await met(9, "EVENT", firstName="Longer")
    too_soon, _ = await met(1)
    await met(40)  # a month on, it is a reconnect, not a follow-up
    await met(5, "NOTE")  # not a meeting
    await met(5, stage="ARCHIVED")
    soon = (datetime.now(UTC) + timedelta(days=5)).date().isoformat()
    await met(5, snoozedUntil=soon)
    followed, _ = await met(6)
    await log_interaction(http, alice.token, [followed["id"]], kind="EMAIL", occurredAt=days_ago(2))
    known = await create_contact(http, alice.token)
    await log_interaction(http, alice.token, [known["id"]], kind="CALL", occurredAt=days_ago(50))
    await log_interaction(http, alice.token, [known["id"]], kind="CALL", occurredAt=days_ago(5))
    gone, _ = await met(5)
    await data(
        http,
        "mutation($c: ID!) { deleteContact(id: $c) { __typename } }",
        {"c": gone["id"]},
        alice.token,
    )
    bobs = await create_contact(http, bob.token)
    await log_interaction(http, bob.token, [bobs["id"]], kind="MEETING", occurredAt=days_ago(5))

    found = await owed(http, alice)
    assert [f["contact"]["id"] for f in found] == [longer["id"], waiting["id"]]
    assert found[0]["interaction"] == {"id": longer_meeting["id"], "kind": "EVENT"}
    assert found[0]["daysSince"] == 9
    assert found[0]["reason"].startswith("first interaction: an event on ")
    assert found[0]["reason"].endswith("nothing logged in the 9 days since")
    assert found[1]["interaction"]["id"] == waiting_meeting["id"]
    # The reason's interaction is the one to draft for.
    ready = await draft(http, alice, found[1]["interaction"]["id"])
    assert ready["contacts"] == [{"id": waiting["id"]}]

    assert [f["contact"]["id"] for f in await owed(http, alice, after=0)] == [
        longer["id"],
        waiting["id"],
        too_soon["id"],
    ]
    assert [f["contact"]["id"] for f in await owed(http, alice, after=7)] == [longer["id"]]
    assert [f["contact"]["id"] for f in await owed(http, alice, first=1)] == [longer["id"]]
    # Logging the follow-up takes them off the list.
    await log_interaction(http, alice.token, [waiting["id"]], kind="EMAIL", summary="Thanks!")
    assert [f["contact"]["id"] for f in await owed(http, alice)] == [longer["id"]]
    assert [f["contact"]["id"] for f in await owed(http, bob)] == [bobs["id"]]

    for variables in ({"after": 30}, {"after": -1}, {"first": 10000}):
        body = await post(http, OWED, variables, alice.token)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", variables
