"""Targets, people to meet (issue 18): the fields, the list, introduction paths, goals, sync."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tests.api.graphql import Account, create_contact, data, log_interaction, post, sign_up
from tests.api.test_networking import ATTEND, CREATE_EVENT, create_goal, today
from tests.api.test_sync_api import PULL, PUSH, now_clock, unique

TARGET_FIELDS = """
  __typename
  ... on Contact {
    id isTarget targetReason targetGoalId researchNotes targetMetAt urls { value }
  }
  ... on ValidationError { fields { field message } }
  ... on NotFound { entity id }
"""
CREATE = (
    "mutation($input: CreateContactInput!) { createContact(input: $input) { "
    + TARGET_FIELDS
    + " } }"
)
UPDATE = (
    "mutation($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input) { "
    + TARGET_FIELDS
    + " } }"
)
TARGETS = "query($goal: ID) { targets(goalId: $goal) { id isTarget targetMetAt } }"
CONTACT = (
    "query($id: ID!) { contact(id: $id) { ... on Contact { id isTarget targetMetAt targetReason } "
    "} }"
)
PATHS = """
query($id: ID!, $first: Int!) {
  introductionPaths(targetId: $id, first: $first) {
    __typename
    ... on IntroductionPaths {
      target { id }
      paths { contact { id firstName } score reasons { kind fact } }
    }
    ... on NotFound { entity id }
    ... on ValidationError { fields { field message } }
  }
}
"""
TAG = "mutation($name: String!) { createTag(input: {name: $name}) { ... on Tag { id } } }"
TAG_CONTACTS = (
    "mutation($tag: ID!, $ids: [ID!]!) { tagContacts(tagId: $tag, contactIds: $ids) "
    "{ __typename } }"
)
PROGRESS = "{ goals { id metric progress { current items { id label } } } }"


async def create_target(http: httpx.AsyncClient, account: Account, **fields: Any) -> Any:
    values = {"firstName": "Grace", "isTarget": True, **fields}
    return (await data(http, CREATE, {"input": values}, account.token))["createContact"]


async def test_a_target_carries_why_a_goal_and_research_and_is_met_by_an_interaction(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    goal = await create_goal(http, account, metric="MEET_TARGETS")
    grace = await create_target(
        http,
        account,
        targetReason="Runs the climate fund",
        targetGoalId=goal["id"],
        researchNotes="Spoke at PyCon about carbon accounting",
        urls=[{"value": "https://example.com/grace"}],
    )
    assert grace["__typename"] == "Contact"
    assert grace["isTarget"] is True
    assert grace["targetReason"] == "Runs the climate fund"
    assert grace["targetGoalId"] == goal["id"]
    assert grace["researchNotes"] == "Spoke at PyCon about carbon accounting"
    assert grace["targetMetAt"] is None
    assert grace["urls"] == [{"value": "https://example.com/grace"}]
    other = await create_contact(http, account.token, firstName="Known")
    listed = await data(http, TARGETS, {"goal": None}, account.token)
    assert [t["id"] for t in listed["targets"]] == [grace["id"]]
    assert other["id"] not in [t["id"] for t in listed["targets"]]

    # A note to self is not meeting anyone; a call is.
    await log_interaction(http, account.token, [grace["id"]], kind="NOTE")
    still = await data(http, CONTACT, {"id": grace["id"]}, account.token)
    assert still["contact"]["targetMetAt"] is None
    call = await log_interaction(
        http, account.token, [grace["id"]], kind="CALL", occurredAt="2026-12-01T10:00:00+00:00"
    )
    met = await data(http, CONTACT, {"id": grace["id"]}, account.token)
    assert met["contact"]["targetMetAt"] == "2026-12-01T10:00:00+00:00"
    assert met["contact"]["isTarget"] is True  # still marked: goals count it
    assert (await data(http, TARGETS, {"goal": None}, account.token))["targets"] == []

    # Deleting the call that met them makes them a target again.
    deleted = await data(
        http,
        "mutation($id: ID!) { deleteInteraction(id: $id) { __typename } }",
        {"id": call["id"]},
        account.token,
    )
    assert deleted["deleteInteraction"]["__typename"] == "Deleted"
    again = await data(http, TARGETS, {"goal": goal["id"]}, account.token)
    assert [t["id"] for t in again["targets"]] == [grace["id"]]

    # Unmarking leaves a regular contact; the reason stays, harmless.
    plain = await data(
        http, UPDATE, {"id": grace["id"], "input": {"isTarget": False}}, account.token
    )
    assert plain["updateContact"]["isTarget"] is False
    assert (await data(http, TARGETS, {"goal": None}, account.token))["targets"] == []


async def test_bad_target_input_gets_typed_errors_and_writes_nothing(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    stranger = await sign_up(http)
    theirs = await create_goal(http, stranger, metric="MEET_TARGETS")
    refused = await create_target(http, account, targetGoalId=theirs["id"])
    assert refused["__typename"] == "ValidationError"
    assert refused["fields"][0]["field"] == "targetGoalId"
    assert "pick one of your goals" in refused["fields"][0]["message"]
    bad_id = await create_target(http, account, targetGoalId="not-an-id")
    assert bad_id["__typename"] == "ValidationError"
    assert bad_id["fields"][0]["field"] == "targetGoalId"
    long_reason = await create_target(http, account, targetReason="x" * 501)
    assert long_reason["fields"][0]["field"] == "targetReason"
    assert (await data(http, TARGETS, {"goal": None}, account.token))["targets"] == []

    mine = await create_goal(http, account, metric="MEET_TARGETS")
    grace = await create_target(http, account)
    # Goals are deleted from devices (no online deleteGoal): a deleted goal is no link online.
    delete = {"id": 1, "name": "goal.delete", "args": {"id": mine["id"]}}
    pushed = await data(
        http,
        PUSH,
        {"input": {"clientId": unique("phone"), "schemaVersion": 1, "mutations": [delete]}},
        account.token,
    )
    assert [r["status"] for r in pushed["syncPush"]["results"]] == ["APPLIED"]
    gone = await data(
        http, UPDATE, {"id": grace["id"], "input": {"targetGoalId": mine["id"]}}, account.token
    )
    assert gone["updateContact"]["__typename"] == "ValidationError"
    cleared = await data(
        http, UPDATE, {"id": grace["id"], "input": {"isTarget": None}}, account.token
    )
    assert cleared["updateContact"]["fields"] == [
        {"field": "isTarget", "message": "cannot be cleared; send a value"}
    ]
    # Another user's target does not exist for this one, anywhere.
    stranger_target = await create_target(http, stranger)
    paths = await data(http, PATHS, {"id": stranger_target["id"], "first": 5}, account.token)
    assert paths["introductionPaths"]["__typename"] == "NotFound"
    seen = await data(http, TARGETS, {"goal": None}, account.token)
    assert [t["id"] for t in seen["targets"]] == [grace["id"]]
    bad = await data(http, PATHS, {"id": "nope", "first": 5}, account.token)
    assert bad["introductionPaths"]["__typename"] == "ValidationError"
    too_many = await post(http, PATHS, {"id": grace["id"], "first": 100_000}, account.token)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    bad_goal = await post(http, TARGETS, {"goal": "nope"}, account.token)
    assert bad_goal["errors"][0]["extensions"]["field"] == "goalId"


async def test_introduction_paths_rank_who_shares_what_with_the_target(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    tag = (await data(http, TAG, {"name": "Climate"}, account.token))["createTag"]
    grace = await create_target(
        http, account, company="Acme Energy", interests=["Batteries", "sailing"]
    )
    colleague = await create_contact(
        http, account.token, firstName="Cole", company="acme energy", stage="CLOSE"
    )
    sailor = await create_contact(http, account.token, firstName="Sal", interests=["Sailing"])
    tagged = await create_contact(http, account.token, firstName="Tess")
    nobody = await create_contact(http, account.token, firstName="Nora", company="Other")
    unmet = await create_target(http, account, firstName="Una", company="Acme Energy")
    await data(
        http, TAG_CONTACTS, {"tag": tag["id"], "ids": [grace["id"], tagged["id"]]}, account.token
    )
    event = (
        await data(
            http,
            CREATE_EVENT,
            {"input": {"name": "Climate Week", "startsAt": "2026-11-20T18:00:00+00:00"}},
            account.token,
        )
    )["createEvent"]
    for person, status in ((grace, "PLANNED"), (tagged, "MET")):
        await data(http, ATTEND, {"e": event["id"], "c": person["id"], "s": status}, account.token)
    await log_interaction(http, account.token, [sailor["id"]], kind="CALL")

    found = (await data(http, PATHS, {"id": grace["id"], "first": 5}, account.token))[
        "introductionPaths"
    ]
    assert found["target"]["id"] == grace["id"]
    names = [p["contact"]["firstName"] for p in found["paths"]]
    # Cole: company 3 x (1 + CLOSE 1) = 6; Tess: event 2 + tag 1.5, NEW 0.1 = 3.85;
    # Sal: interest 1 x (1 + NEW 0.1 + talked today 0.2) = 1.3. Nora shares nothing, and
    # Una, a target not met yet, introduces nobody.
    assert names == ["Cole", "Tess", "Sal"]
    assert found["paths"][0]["contact"]["id"] == colleague["id"]
    assert [p["score"] for p in found["paths"]] == [6.0, 3.85, 1.3]
    reasons = {p["contact"]["firstName"]: p["reasons"] for p in found["paths"]}
    assert reasons["Cole"] == [{"kind": "COMPANY", "fact": "Cole works at Acme Energy"}]
    assert reasons["Tess"] == [
        {"kind": "EVENT", "fact": "both on the list for Climate Week (2026-11-20)"},
        {"kind": "TAG", "fact": "both tagged Climate"},
    ]
    assert reasons["Sal"] == [
        {"kind": "INTEREST", "fact": "both interested in sailing"},
        {"kind": "RELATIONSHIP", "fact": "you last talked today"},
    ]
    assert nobody["id"] not in [p["contact"]["id"] for p in found["paths"]]
    assert unmet["id"] not in [p["contact"]["id"] for p in found["paths"]]
    top = await data(http, PATHS, {"id": grace["id"], "first": 1}, account.token)
    assert [p["contact"]["firstName"] for p in top["introductionPaths"]["paths"]] == ["Cole"]


async def test_meet_targets_goals_count_targets_met_by_interaction_or_event(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    linked_goal = await create_goal(http, account, metric="MEET_TARGETS", title="Climate")
    open_goal = await create_goal(http, account, metric="MEET_TARGETS", title="Anyone")
    grace = await create_target(http, account, targetGoalId=linked_goal["id"])
    ada = await create_target(http, account, firstName="Ada", targetReason="Compilers")
    await create_target(http, account, firstName="Not Yet", targetGoalId=linked_goal["id"])
    plain = await create_contact(http, account.token, firstName="Plain")
    await log_interaction(http, account.token, [grace["id"], plain["id"]], kind="MEETING")
    event = (
        await data(
            http,
            CREATE_EVENT,
            {"input": {"name": "Meetup", "startsAt": f"{today()}T00:00:01+00:00"}},
            account.token,
        )
    )["createEvent"]
    planned = await data(
        http, ATTEND, {"e": event["id"], "c": ada["id"], "s": "PLANNED"}, account.token
    )
    assert planned["addEventAttendee"]["__typename"] == "Event"
    assert (await data(http, CONTACT, {"id": ada["id"]}, account.token))["contact"][
        "targetMetAt"
    ] is None
    # Attendance marked MET meets a target, as an interaction does.
    await data(http, ATTEND, {"e": event["id"], "c": ada["id"], "s": "MET"}, account.token)
    met = (await data(http, CONTACT, {"id": ada["id"]}, account.token))["contact"]
    assert met["targetMetAt"] == f"{today()}T00:00:01+00:00"

    goals = {g["id"]: g for g in (await data(http, PROGRESS, token=account.token))["goals"]}
    # Targets are linked to the first goal: it counts only those. None to the second: all.
    linked = goals[linked_goal["id"]]["progress"]
    assert linked["current"] == 1
    assert linked["items"] == [{"id": grace["id"], "label": "Grace"}]
    anyone = goals[open_goal["id"]]["progress"]
    assert anyone["current"] == 2
    assert {(i["id"], i["label"]) for i in anyone["items"]} == {
        (grace["id"], "Grace"),
        (ada["id"], "Ada — Compilers"),
    }


async def test_target_fields_sync_both_ways_and_a_meeting_logged_offline_converges(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    goal = await create_goal(http, account, metric="MEET_TARGETS")
    target_id, interaction_id = str(uuid.uuid4()), str(uuid.uuid4())
    phone, laptop = unique("phone"), unique("laptop")

    async def push(client: str, mutations: list[dict[str, Any]]) -> list[str]:
        body = await data(
            http,
            PUSH,
            {"input": {"clientId": client, "schemaVersion": 1, "mutations": mutations}},
            account.token,
        )
        return [r["status"] for r in body["syncPush"]["results"]]

    created = {
        "id": 1,
        "name": "contact.put",
        "args": {
            "id": target_id,
            "hlc": now_clock("phone", 1),
            "fields": {
                "firstName": "Grace",
                "isTarget": True,
                "targetReason": "Climate fund",
                "targetGoalId": goal["id"],
                "researchNotes": "Wrote the carbon book",
            },
        },
    }
    assert await push(phone, [created]) == ["APPLIED"]
    # A goal that is not the user's is refused, and the queue moves on.
    stranger = await sign_up(http)
    theirs = await create_goal(http, stranger, metric="MEET_TARGETS")
    bad = {
        "id": 2,
        "name": "contact.put",
        "args": {
            "id": target_id,
            "hlc": now_clock("phone", 2),
            "fields": {"targetGoalId": theirs["id"]},
        },
    }
    assert await push(phone, [bad]) == ["REJECTED"]

    # Offline, the phone logs the meeting while the laptop edits the reason; either order.
    meeting = {
        "id": 3,
        "name": "interaction.put",
        "args": {
            "id": interaction_id,
            "hlc": now_clock("phone", 3),
            "fields": {
                "contactIds": [target_id],
                "kind": "MEAL",
                "occurredAt": "2026-12-02T12:00:00+00:00",
                "summary": "Lunch",
            },
        },
    }
    edit = {
        "id": 1,
        "name": "contact.put",
        "args": {
            "id": target_id,
            "hlc": now_clock("laptop", 4),
            "fields": {"targetReason": "Climate fund, Series A"},
        },
    }
    assert await push(laptop, [edit]) == ["APPLIED"]
    assert await push(phone, [meeting]) == ["APPLIED"]

    reader = unique("reader")
    body = await data(http, PULL, {"client": reader, "cursor": None, "version": 1}, account.token)
    changes = [json.loads(c) if isinstance(c, str) else c for c in body["syncPull"]["changes"]]
    contact = next(c for c in changes if c["entity"] == "contact" and c["id"] == target_id)
    assert contact["fields"]["isTarget"] is True
    assert contact["fields"]["targetReason"] == "Climate fund, Series A"
    assert contact["fields"]["targetGoalId"] == goal["id"]
    assert contact["fields"]["researchNotes"] == "Wrote the carbon book"
    assert contact["derived"]["targetMetAt"] == "2026-12-02T12:00:00+00:00"
    assert {"isTarget", "targetReason", "targetGoalId", "researchNotes"} <= set(contact["clocks"])
    online = (await data(http, CONTACT, {"id": target_id}, account.token))["contact"]
    assert online == {
        "id": target_id,
        "isTarget": True,
        "targetMetAt": "2026-12-02T12:00:00+00:00",
        "targetReason": "Climate fund, Series A",
    }
    # An online edit reaches a device's next pull.
    cursor = body["syncPull"]["cursor"]
    await data(
        http,
        UPDATE,
        {"id": target_id, "input": {"researchNotes": "Also sails"}},
        account.token,
    )
    later = await data(
        http, PULL, {"client": reader, "cursor": cursor, "version": 1}, account.token
    )
    pulled = [json.loads(c) if isinstance(c, str) else c for c in later["syncPull"]["changes"]]
    assert [c["fields"]["researchNotes"] for c in pulled if c["id"] == target_id] == ["Also sails"]


async def test_concurrent_research_notes_keep_the_loser_as_a_conflict(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    grace = await create_target(http, account, researchNotes="Online: met her at PyCon")
    early = now_clock("phone", 0)
    # The phone edited the notes before the online edit's clock: its text loses, and is kept.
    stale = {
        "id": 1,
        "name": "contact.put",
        "args": {
            "id": grace["id"],
            "hlc": "000000000000001-00000-phone",
            "fields": {"researchNotes": "Offline: she wrote the carbon book"},
        },
    }
    assert early > stale["args"]["hlc"]
    pushed = await data(
        http,
        PUSH,
        {"input": {"clientId": unique("phone"), "schemaVersion": 1, "mutations": [stale]}},
        account.token,
    )
    assert [r["status"] for r in pushed["syncPush"]["results"]] == ["APPLIED"]
    kept = await data(
        http,
        "{ syncConflicts { nodes { field losingValue winningValue } } }",
        token=account.token,
    )
    assert kept["syncConflicts"]["nodes"] == [
        {
            "field": "researchNotes",
            "losingValue": "Offline: she wrote the carbon book",
            "winningValue": "Online: met her at PyCon",
        }
    ]


async def test_merging_a_target_into_a_contact_keeps_it_a_target_with_the_research(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    grace = await create_target(http, account, researchNotes="Wrote the carbon book")
    twin = await create_contact(http, account.token, firstName="Grace")
    await data(http, UPDATE, {"id": twin["id"], "input": {"researchNotes": "Sails"}}, account.token)
    merged = await data(
        http,
        "mutation($k: ID!, $m: [ID!]!) { mergeContacts(keepId: $k, mergeIds: $m) { "
        + TARGET_FIELDS
        + " } }",
        {"k": twin["id"], "m": [grace["id"]]},
        account.token,
    )
    survivor = merged["mergeContacts"]
    assert survivor["isTarget"] is True
    assert survivor["researchNotes"] == "Sails\n\nWrote the carbon book"
    assert [
        t["id"] for t in (await data(http, TARGETS, {"goal": None}, account.token))["targets"]
    ] == [twin["id"]]
