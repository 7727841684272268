"""Networking goals and events over GraphQL and sync, and the network summary."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from tests.api.graphql import Account, create_contact, data, log_interaction, post, sign_up
from tests.api.test_sync_api import PULL, PUSH, now_clock, unique
from tests.conftest import libpq_url

GOAL_FIELDS = """
  __typename
  ... on Goal {
    id title metric target period startsOn endsOn archived
    progress { current target done windowStart windowEnd items { id label } }
  }
  ... on ValidationError { fields { field message } }
  ... on NotFound { entity id }
"""
CREATE_GOAL = (
    "mutation($input: CreateGoalInput!) { createGoal(input: $input) { " + GOAL_FIELDS + " } }"
)
UPDATE_GOAL = (
    "mutation($id: ID!, $input: UpdateGoalInput!) { updateGoal(id: $id, input: $input) { "
    + GOAL_FIELDS
    + " } }"
)
ARCHIVE_GOAL = "mutation($id: ID!) { archiveGoal(id: $id) { " + GOAL_FIELDS + " } }"
GOALS = "query($all: Boolean!) { goals(includeArchived: $all) { id title progress { current } } }"
EVENT_FIELDS = """
  __typename
  ... on Event {
    id name startsAt attendees { contact { id } status note } followUpsDue { id }
  }
  ... on ValidationError { fields { field message } }
  ... on NotFound { entity id }
"""
CREATE_EVENT = (
    "mutation($input: CreateEventInput!) { createEvent(input: $input) { " + EVENT_FIELDS + " } }"
)
UPDATE_EVENT = (
    "mutation($id: ID!, $input: UpdateEventInput!) { updateEvent(id: $id, input: $input) { "
    + EVENT_FIELDS
    + " } }"
)
ATTEND = (
    "mutation($e: ID!, $c: ID!, $s: AttendeeStatus!) { addEventAttendee(eventId: $e, contactId: $c, status: $s) { "
    + EVENT_FIELDS
    + " } }"
)
SUMMARY = """
query($from: Date!, $to: Date!) {
  networkSummary(from: $from, to: $to) {
    interactions newContacts given received averageSentiment
    weeks { weekStart interactions given received averageSentiment }
    health { bucket count }
  }
}
"""


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def create_goal(http: httpx.AsyncClient, account: Account, **fields: Any) -> Any:
    values = {"title": "Goal", "period": "MONTH", "startsOn": today(), "target": 2, **fields}
    return (await data(http, CREATE_GOAL, {"input": values}, account.token))["createGoal"]


async def test_bad_goals_get_typed_errors_and_change_nothing(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    for target in (0, -5):
        refused = await create_goal(http, account, metric="LOG_INTERACTIONS", target=target)
        assert refused["__typename"] == "ValidationError"
        assert refused["fields"][0]["field"] == "target"
    backwards = await create_goal(
        http, account, metric="LOG_INTERACTIONS", period="CUSTOM", endsOn="2020-01-01"
    )
    assert backwards["__typename"] == "ValidationError"
    assert backwards["fields"][0]["field"] == "endsOn"
    assert "ends before it starts" in backwards["fields"][0]["message"]
    endless = await create_goal(http, account, metric="LOG_INTERACTIONS", period="CUSTOM")
    assert endless["fields"] == [
        {"field": "endsOn", "message": "a CUSTOM period needs an end date"}
    ]
    assert (await data(http, GOALS, {"all": True}, account.token))["goals"] == []

    made = await create_goal(http, account, metric="LOG_INTERACTIONS")
    assert made["__typename"] == "Goal"
    later = await data(
        http, UPDATE_GOAL, {"id": made["id"], "input": {"endsOn": "2000-01-01"}}, account.token
    )
    assert later["updateGoal"]["__typename"] == "ValidationError"
    cleared = await data(
        http, UPDATE_GOAL, {"id": made["id"], "input": {"target": None}}, account.token
    )
    assert cleared["updateGoal"]["__typename"] == "ValidationError"
    missing = await data(
        http, ARCHIVE_GOAL, {"id": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f"}, account.token
    )
    assert missing["archiveGoal"]["__typename"] == "NotFound"


async def test_goal_progress_is_counted_from_the_data(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    tag = await data(
        http,
        'mutation { createTag(input: {name: "Climate tech"}) { ... on Tag { id } } }',
        token=account.token,
    )
    tag_id = tag["createTag"]["id"]
    ann = await create_contact(http, account.token, firstName="Ann")
    ben = await create_contact(http, account.token, firstName="Ben")
    await data(
        http,
        "mutation($t: ID!, $c: [ID!]!) { tagContacts(tagId: $t, contactIds: $c) { __typename } }",
        {"t": tag_id, "c": [ann["id"]]},
        account.token,
    )
    await log_interaction(http, account.token, [ben["id"]], summary="Old", occurredAt=days_ago(200))
    await log_interaction(http, account.token, [ben["id"]], summary="Back in touch")
    await log_interaction(http, account.token, [ann["id"]], summary="Chat")
    await data(
        http,
        "mutation($a: ID!, $b: ID!) { logIntroduction(contactA: $a, contactB: $b) { __typename } }",
        {"a": ann["id"], "b": ben["id"]},
        account.token,
    )
    event = await data(
        http,
        CREATE_EVENT,
        {"input": {"name": "Climate meetup", "startsAt": datetime.now(UTC).isoformat()}},
        account.token,
    )
    assert event["createEvent"]["__typename"] == "Event"

    expected = {
        "LOG_INTERACTIONS": 3,
        "MAKE_INTRODUCTIONS": 1,
        "RECONNECT_DORMANT": 1,
        "ATTEND_EVENTS": 1,
        "MEET_NEW_PEOPLE": 2,
    }
    for metric, count in expected.items():
        made = await create_goal(http, account, metric=metric, period="WEEK", target=2)
        assert made["progress"]["current"] == count, (metric, made)
        assert made["progress"]["done"] is (count >= 2)
        assert len(made["progress"]["items"]) == count
    reconnect = await create_goal(http, account, metric="RECONNECT_DORMANT", period="YEAR")
    assert [i["id"] for i in reconnect["progress"]["items"]] == [ben["id"]]
    tagged = await create_goal(
        http, account, metric="MEET_NEW_PEOPLE", tagId=tag_id, title="Meet climate people"
    )
    assert [i["label"] for i in tagged["progress"]["items"]] == ["Ann"]

    # Archived goals leave the default list but stay available.
    archived = await data(http, ARCHIVE_GOAL, {"id": tagged["id"]}, account.token)
    assert archived["archiveGoal"]["archived"] is True
    listed = await data(http, GOALS, {"all": False}, account.token)
    assert tagged["id"] not in {g["id"] for g in listed["goals"]}
    everything = await data(http, GOALS, {"all": True}, account.token)
    assert tagged["id"] in {g["id"] for g in everything["goals"]}


async def test_events_track_people_met_and_their_follow_ups(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    ann = await create_contact(http, account.token, firstName="Ann")
    ben = await create_contact(http, account.token, firstName="Ben")
    started = datetime.now(UTC) - timedelta(days=2)
    event = (
        await data(
            http,
            CREATE_EVENT,
            {"input": {"name": "Summit", "startsAt": started.isoformat()}},
            account.token,
        )
    )["createEvent"]
    for contact, status in ((ann, "MET"), (ben, "PLANNED")):
        result = await data(
            http, ATTEND, {"e": event["id"], "c": contact["id"], "s": status}, account.token
        )
    attendees = result["addEventAttendee"]["attendees"]
    assert {(a["contact"]["id"], a["status"]) for a in attendees} == {
        (ann["id"], "MET"),
        (ben["id"], "PLANNED"),
    }
    assert result["addEventAttendee"]["followUpsDue"] == [{"id": ann["id"]}]
    await log_interaction(http, account.token, [ann["id"]], summary="Follow-up email")
    events = await data(http, "{ events { id followUpsDue { id } } }", token=account.token)
    assert events["events"] == [{"id": event["id"], "followUpsDue": []}]

    backwards = await data(
        http,
        UPDATE_EVENT,
        {"id": event["id"], "input": {"endsAt": (started - timedelta(hours=1)).isoformat()}},
        account.token,
    )
    assert backwards["updateEvent"]["__typename"] == "ValidationError"
    assert backwards["updateEvent"]["fields"][0]["field"] == "endsAt"
    unknown = await data(
        http, ATTEND, {"e": str(uuid.uuid4()), "c": ann["id"], "s": "MET"}, account.token
    )
    assert unknown["addEventAttendee"]["entity"] == "event"
    body = await post(http, "{ events(first: 10000) { id } }", token=account.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_goals_and_events_sync_like_every_entity(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    ann = await create_contact(http, account.token, firstName="Ann")
    goal_id, event_id = str(uuid.uuid4()), str(uuid.uuid4())
    mutations = [
        {
            "id": 1,
            "name": "goal.put",
            "args": {
                "id": goal_id,
                "hlc": now_clock("phone", 1),
                "fields": {
                    "title": "Meet people",
                    "metric": "MEET_NEW_PEOPLE",
                    "target": 5,
                    "period": "MONTH",
                    "startsOn": today(),
                },
            },
        },
        {
            "id": 2,
            "name": "event.put",
            "args": {
                "id": event_id,
                "hlc": now_clock("phone", 2),
                "fields": {"name": "Meetup", "startsAt": "2026-11-20T18:00:00+00:00"},
            },
        },
        {
            "id": 3,
            "name": "event.setAttendee",
            "args": {
                "eventId": event_id,
                "contactId": ann["id"],
                "hlc": now_clock("phone", 3),
                "fields": {"status": "MET", "note": "Talked batteries"},
            },
        },
        {
            "id": 4,
            "name": "goal.put",
            "args": {"id": goal_id, "hlc": now_clock("phone", 4), "fields": {"target": 0}},
        },
    ]
    phone = unique("phone")
    pushed = await data(
        http,
        PUSH,
        {"input": {"clientId": phone, "schemaVersion": 1, "mutations": mutations}},
        account.token,
    )
    statuses = [r["status"] for r in pushed["syncPush"]["results"]]
    assert statuses == ["APPLIED", "APPLIED", "APPLIED", "REJECTED"]

    reader = unique("reader")
    body = await data(http, PULL, {"client": reader, "cursor": None, "version": 1}, account.token)
    changes = [json.loads(c) if isinstance(c, str) else c for c in body["syncPull"]["changes"]]
    by_entity = {c["entity"]: c for c in changes}
    assert by_entity["goal"]["fields"]["target"] == 5
    assert by_entity["event"]["fields"]["name"] == "Meetup"
    attendee = by_entity["eventAttendee"]
    assert attendee["id"] == f"{event_id}:{ann['id']}"
    assert attendee["fields"] == {
        "eventId": event_id,
        "contactId": ann["id"],
        "status": "MET",
        "note": "Talked batteries",
    }
    # Within a version, entities come in rank order: the new ones after the old ones.
    order = [c["entity"] for c in changes]
    assert order.index("contact") < order.index("event") < order.index("eventAttendee")

    delete = {"id": 5, "name": "goal.delete", "args": {"id": goal_id}}
    await data(
        http,
        PUSH,
        {"input": {"clientId": phone, "schemaVersion": 1, "mutations": [delete]}},
        account.token,
    )
    cursor = body["syncPull"]["cursor"]
    later = await data(
        http, PULL, {"client": reader, "cursor": cursor, "version": 1}, account.token
    )
    tombstones = [json.loads(c) if isinstance(c, str) else c for c in later["syncPull"]["changes"]]
    assert [(c["entity"], c["deleted"]) for c in tombstones] == [("goal", True)]


async def test_network_summary_counts_a_range(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    ann = await create_contact(http, account.token, firstName="Ann", cadenceDays=30)
    await create_contact(http, account.token, firstName="Ben")
    await log_interaction(
        http, account.token, [ann["id"]], summary="Wonderful lunch", given="a book"
    )
    await log_interaction(
        http, account.token, [ann["id"]], summary="Call", received="advice", occurredAt=days_ago(1)
    )
    start = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    summary = (await data(http, SUMMARY, {"from": start, "to": today()}, account.token))[
        "networkSummary"
    ]
    assert summary["interactions"] == 2
    assert summary["newContacts"] == 2
    assert (summary["given"], summary["received"]) == (1, 1)
    assert summary["averageSentiment"] > 0
    assert sum(w["interactions"] for w in summary["weeks"]) == 2
    buckets = {b["bucket"]: b["count"] for b in summary["health"]}
    assert sum(buckets.values()) == 2
    assert buckets["DORMANT"] == 1

    body = await post(http, SUMMARY, {"from": today(), "to": start}, account.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_concurrent_goal_descriptions_keep_the_loser_as_a_conflict(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    goal_id = str(uuid.uuid4())
    create = {
        "title": "Meet people",
        "metric": "MEET_NEW_PEOPLE",
        "target": 5,
        "period": "MONTH",
        "startsOn": today(),
        "description": "first",
    }
    edits = [
        ("laptop", "001700000000000-00000-a1", create),
        ("phone", "001800000000000-00000-a2", {"description": "new"}),
        ("tablet", "001750000000000-00000-a3", {"description": "old"}),
    ]
    for device, hlc, fields in edits:
        mutation = {
            "id": 1,
            "name": "goal.put",
            "args": {"id": goal_id, "fields": fields, "hlc": hlc},
        }
        await data(
            http,
            PUSH,
            {"input": {"clientId": unique(device), "schemaVersion": 1, "mutations": [mutation]}},
            account.token,
        )
    conflicts = await data(
        http,
        "{ syncConflicts { nodes { entity entityId field losingValue winningValue } } }",
        token=account.token,
    )
    assert conflicts["syncConflicts"]["nodes"] == [
        {
            "entity": "goal",
            "entityId": goal_id,
            "field": "description",
            "losingValue": "old",
            "winningValue": "new",
        }
    ]


async def test_a_goal_stored_with_dates_past_the_range_reports_no_progress(
    http: httpx.AsyncClient, api_db: str
) -> None:
    account = await sign_up(http)
    goals = []
    for period in ("WEEK", "MONTH", "YEAR", "CUSTOM"):
        made = await create_goal(
            http, account, metric="LOG_INTERACTIONS", period=period, endsOn="2199-01-01"
        )
        goals.append(uuid.UUID(made["id"]))
    # Rows from before dates were bounded; the API refuses such dates now.
    conn = await asyncpg.connect(libpq_url(api_db))
    try:
        await conn.execute(
            "UPDATE goals SET starts_on = '9999-12-31', ends_on = NULL WHERE id = ANY($1::uuid[])",
            goals[:3],
        )
        await conn.execute(
            "UPDATE goals SET starts_on = '0001-01-01', ends_on = '9999-12-31' WHERE id = $1",
            goals[3],
        )
    finally:
        await conn.close()
    listed = (await data(http, GOALS, {"all": True}, account.token))["goals"]
    assert [g["progress"] for g in listed] == [None] * 4
