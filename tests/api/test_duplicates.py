"""Duplicates over HTTP: candidates with reasons, dismissing a pair, merging contacts."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.graphql import Account, create_contact, data, log_interaction, post, sign_up

MERGE = """
mutation($k: ID!, $m: [ID!]!) {
  mergeContacts(keepId: $k, mergeIds: $m) {
    __typename
    ... on Contact {
      id firstName lastName company title notes importance
      emails { label value } phones { value } urls { value } interests
      lastInteractionAt introducedBy { id } tags { name }
      interactions { totalCount nodes { id contacts { id } } }
    }
    ... on ValidationError { message fields { field message } }
    ... on NotFound { entity id }
    ... on ContactMerged { message id survivorId }
    ... on ContactDeleted { message id }
  }
}
"""

CANDIDATES = """
query($first: Int!, $after: String) {
  duplicateCandidates(first: $first, after: $after) {
    totalCount
    edges { cursor node { contactA { id } contactB { id } score reasons } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

DISMISS = """
mutation($a: ID!, $b: ID!) {
  dismissDuplicate(contactA: $a, contactB: $b) {
    __typename
    ... on DuplicateDismissed { contactA contactB }
    ... on ValidationError { message fields { field message } }
    ... on NotFound { entity id }
  }
}
"""

PUSH = """
mutation($input: SyncPushInput!) {
  syncPush(input: $input) { lastMutationId results { id status reason } }
}
"""

PULL = """
query($c: ID!, $cursor: String) {
  syncPull(clientId: $c, schemaVersion: 1, cursor: $cursor, limit: 1000) { changes cursor }
}
"""
# Each device's cursor, so a pull brings what changed since the last one (tombstones too).
_cursors: dict[str, str] = {}


async def _merge(http: httpx.AsyncClient, token: str, keep: str, merged: list[str]) -> Any:
    return (await data(http, MERGE, {"k": keep, "m": merged}, token))["mergeContacts"]


async def _pull(http: httpx.AsyncClient, account: Account, client: str) -> dict[str, Any]:
    page = (await data(http, PULL, {"c": client, "cursor": _cursors.get(client)}, account.token))[
        "syncPull"
    ]
    _cursors[client] = page["cursor"]
    changes = page["changes"]
    return {f"{c['entity']}:{c['id']}": c for c in changes}


async def _push(
    http: httpx.AsyncClient, account: Account, client: str, mutations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    result = await data(
        http,
        PUSH,
        {"input": {"clientId": client, "schemaVersion": 1, "mutations": mutations}},
        account.token,
    )
    results: list[dict[str, Any]] = result["syncPush"]["results"]
    return results


async def test_a_merge_unites_fields_moves_history_and_leaves_a_tombstone_naming_the_survivor(
    http: httpx.AsyncClient,
) -> None:
    me = await sign_up(http)
    keep = await create_contact(
        http,
        me.token,
        firstName="Ada",
        lastName="Lovelace",
        emails=[{"label": "work", "value": "ada@example.com"}],
        notes="Met at the Analytical Society.",
        interests=["mathematics"],
    )
    dup = await create_contact(
        http,
        me.token,
        firstName="Ada",
        lastName="King",
        company="Analytical Engines",
        title="Countess",
        importance="VIP",
        emails=[{"value": "ADA@example.com"}, {"value": "countess@example.com"}],
        phones=[{"value": "+44 20 7946 0958"}],
        urls=[{"value": "https://www.linkedin.com/in/ada"}],
        interests=["Mathematics", "poetry"],
        notes="Wrote the first program.",
    )
    friend = await create_contact(http, me.token, firstName="Charles", introducedById=dup["id"])
    alone = await log_interaction(
        http, me.token, [dup["id"]], occurredAt="2026-11-20T10:00:00Z", summary="Tea"
    )
    both = await log_interaction(
        http, me.token, [keep["id"], dup["id"]], occurredAt="2026-10-01T10:00:00Z"
    )
    tag = await data(
        http,
        'mutation { createTag(input: {name: "Pioneers"}) { ... on Tag { id } } }',
        None,
        me.token,
    )
    await data(
        http,
        "mutation($t: ID!, $c: [ID!]!) { tagContacts(tagId: $t, contactIds: $c) { __typename } }",
        {"t": tag["createTag"]["id"], "c": [dup["id"]]},
        me.token,
    )
    reminder = await data(
        http,
        'mutation($c: ID!) { createReminder(input: {title: "Write", dueOn: "2026-12-24",'
        " contactId: $c}) { ... on Reminder { id } } }",
        {"c": dup["id"]},
        me.token,
    )
    event = await data(
        http,
        'mutation { createEvent(input: {name: "Soirée", startsAt: "2026-11-01T19:00:00Z"}) '
        "{ ... on Event { id } } }",
        None,
        me.token,
    )
    event_id = event["createEvent"]["id"]
    await data(
        http,
        'mutation($e: ID!, $c: ID!) { addEventAttendee(eventId: $e, contactId: $c, note: "Chat") '
        "{ __typename } }",
        {"e": event_id, "c": dup["id"]},
        me.token,
    )
    await _pull(http, me, f"{me.user_id}-phone")  # a device that knew the duplicate

    merged = await _merge(http, me.token, keep["id"], [dup["id"]])

    assert merged["__typename"] == "Contact", merged
    assert merged["id"] == keep["id"]
    assert (merged["firstName"], merged["lastName"]) == ("Ada", "Lovelace")  # the survivor's
    assert (merged["company"], merged["title"]) == ("Analytical Engines", "Countess")  # filled
    assert merged["importance"] == "VIP"
    assert merged["emails"] == [
        {"label": "work", "value": "ada@example.com"},
        {"label": "", "value": "countess@example.com"},
    ]
    assert merged["phones"] == [{"value": "+44 20 7946 0958"}]
    assert merged["urls"] == [{"value": "https://www.linkedin.com/in/ada"}]
    assert merged["interests"] == ["mathematics", "poetry"]
    assert merged["notes"] == "Met at the Analytical Society.\n\nWrote the first program."
    assert merged["lastInteractionAt"].startswith("2026-11-20T10:00:00")
    assert merged["tags"] == [{"name": "Pioneers"}]
    assert merged["interactions"]["totalCount"] == 2
    assert {n["id"]: [c["id"] for c in n["contacts"]] for n in merged["interactions"]["nodes"]} == {
        alone["id"]: [keep["id"]],
        both["id"]: [keep["id"]],
    }
    after = await data(
        http,
        """query($f: ID!, $d: ID!) {
          charles: contact(id: $f) { ... on Contact { introducedBy { id } } }
          dup: contact(id: $d) { __typename }
          contacts { totalCount }
          reminders { nodes { id contactId } }
          events { id attendees { contact { id } note } }
        }""",
        {"f": friend["id"], "d": dup["id"]},
        me.token,
    )
    assert after["charles"]["introducedBy"] == {"id": keep["id"]}
    assert after["dup"]["__typename"] == "NotFound"
    assert after["contacts"]["totalCount"] == 2
    assert after["reminders"]["nodes"] == [
        {"id": reminder["createReminder"]["id"], "contactId": keep["id"]}
    ]
    assert after["events"] == [
        {"id": event_id, "attendees": [{"contact": {"id": keep["id"]}, "note": "Chat"}]}
    ]
    # The device learns everything from its next pull: the tombstone names the survivor.
    changes = await _pull(http, me, f"{me.user_id}-phone")
    tombstone = changes[f"contact:{dup['id']}"]
    assert tombstone["deleted"] is True
    assert tombstone["derived"]["mergedInto"] == keep["id"]
    assert changes[f"contact:{keep['id']}"]["derived"]["mergedInto"] is None
    assert changes[f"interaction:{alone['id']}"]["fields"]["contactIds"] == [keep["id"]]
    assert changes[f"contactTag:{tag['createTag']['id']}:{dup['id']}"]["deleted"] is True
    assert changes[f"contactTag:{tag['createTag']['id']}:{keep['id']}"]["deleted"] is False
    assert changes[f"eventAttendee:{event_id}:{keep['id']}"]["fields"]["note"] == "Chat"
    assert (
        changes[f"reminder:{reminder['createReminder']['id']}"]["fields"]["contactId"]
        == (keep["id"])
    )


async def test_a_device_edit_of_a_merged_contact_is_rejected_and_its_references_land_on_the_survivor(
    http: httpx.AsyncClient,
) -> None:
    me = await sign_up(http)
    keep = await create_contact(http, me.token, firstName="Grace")
    dup = await create_contact(http, me.token, firstName="Grace", lastName="Hopper")
    phone = f"{me.user_id}-phone"
    await _pull(http, me, phone)
    assert (await _merge(http, me.token, keep["id"], [dup["id"]]))["__typename"] == "Contact"
    interaction_id = "01a20903-0fde-75be-8fc2-bee29bce2faf"
    results = await _push(
        http,
        me,
        phone,
        [
            {
                "id": 1,
                "name": "contact.put",
                "args": {
                    "id": dup["id"],
                    "hlc": "001795447465376-00000-phone",
                    "fields": {"title": "Rear Admiral"},
                },
            },
            {
                "id": 2,
                "name": "interaction.put",
                "args": {
                    "id": interaction_id,
                    "hlc": "001795447465376-00001-phone",
                    "fields": {
                        "contactIds": [dup["id"], keep["id"]],
                        "occurredAt": "2026-11-20T12:30:00Z",
                        "summary": "Lunch",
                    },
                },
            },
            {"id": 3, "name": "contact.restore", "args": {"id": dup["id"]}},
        ],
    )
    assert [r["status"] for r in results] == ["REJECTED", "APPLIED", "REJECTED"]
    for rejected in (results[0], results[2]):
        assert rejected["reason"] == (
            f"contact {dup['id']} was merged into contact {keep['id']}; "
            f"apply the change to {keep['id']}"
        )
    changes = await _pull(http, me, phone)
    assert changes[f"interaction:{interaction_id}"]["fields"]["contactIds"] == [keep["id"]]
    assert changes[f"contact:{keep['id']}"]["derived"]["lastInteractionAt"].startswith(
        "2026-11-20T12:30:00"
    )
    # The rejected edit left no trace on the survivor either.
    assert changes[f"contact:{keep['id']}"]["fields"]["title"] is None


async def test_merge_refusals_are_typed_and_write_nothing(http: httpx.AsyncClient) -> None:
    me = await sign_up(http)
    keep = await create_contact(http, me.token, firstName="Alan")
    dup = await create_contact(http, me.token, firstName="Alan", company="Bletchley")
    gone = await create_contact(http, me.token, firstName="Alan", lastName="T.")
    await data(
        http,
        "mutation($c: ID!) { deleteContact(id: $c) { __typename } }",
        {"c": gone["id"]},
        me.token,
    )
    unknown = "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f"

    itself = await _merge(http, me.token, keep["id"], [keep["id"]])
    assert itself["__typename"] == "ValidationError"
    assert itself["fields"][0]["field"] == "mergeIds"
    too_many = await _merge(http, me.token, keep["id"], [unknown] * 21)
    assert too_many["__typename"] == "ValidationError"
    assert "send 1 to 20 contact ids, not 21" in too_many["message"]
    assert (await _merge(http, me.token, keep["id"], []))["__typename"] == "ValidationError"
    bad = await _merge(http, me.token, keep["id"], ["not-an-id"])
    assert bad["__typename"] == "ValidationError"
    assert (await _merge(http, me.token, keep["id"], [dup["id"], unknown])) == {
        "__typename": "NotFound",
        "entity": "contact",
        "id": unknown,
    }
    deleted = await _merge(http, me.token, keep["id"], [dup["id"], gone["id"]])
    assert deleted["__typename"] == "ContactDeleted"
    assert deleted["id"] == gone["id"]
    # Nothing was half-written: the duplicate is alive and unchanged, the survivor too.
    view = await data(
        http,
        "query($k: ID!, $d: ID!) { k: contact(id: $k) { ... on Contact { company } }"
        " d: contact(id: $d) { ... on Contact { company } } }",
        {"k": keep["id"], "d": dup["id"]},
        me.token,
    )
    assert view == {"k": {"company": None}, "d": {"company": "Bletchley"}}

    assert (await _merge(http, me.token, keep["id"], [dup["id"]]))["__typename"] == "Contact"
    again = await _merge(http, me.token, keep["id"], [dup["id"]])
    assert again["__typename"] == "ContactMerged"
    assert (again["id"], again["survivorId"]) == (dup["id"], keep["id"])
    into_merged = await _merge(http, me.token, dup["id"], [keep["id"]])
    assert into_merged["__typename"] == "ContactMerged"
    restored = await data(
        http,
        "mutation($d: ID!) { restoreContact(id: $d) { __typename"
        " ... on ValidationError { fields { field message } } } }",
        {"d": dup["id"]},
        me.token,
    )
    assert restored["restoreContact"] == {
        "__typename": "ValidationError",
        "fields": [
            {
                "field": "id",
                "message": f"contact {dup['id']} was merged into contact {keep['id']}; "
                "it cannot be restored",
            }
        ],
    }


async def test_a_merge_that_would_overflow_a_list_says_which_and_writes_nothing(
    http: httpx.AsyncClient,
) -> None:
    me = await sign_up(http)
    keep = await create_contact(
        http, me.token, emails=[{"value": f"a{n}@example.com"} for n in range(15)]
    )
    dup = await create_contact(
        http, me.token, emails=[{"value": f"b{n}@example.com"} for n in range(10)]
    )
    refused = await _merge(http, me.token, keep["id"], [dup["id"]])
    assert refused["__typename"] == "ValidationError"
    assert refused["fields"] == [
        {
            "field": "emails",
            "message": "the contacts have 25 different emails together, more than 20; "
            "remove some first",
        }
    ]
    view = await data(
        http, "query($d: ID!) { contact(id: $d) { __typename } }", {"d": dup["id"]}, me.token
    )
    assert view["contact"]["__typename"] == "Contact"


async def test_candidates_come_with_reasons_best_first_a_page_at_a_time(
    http: httpx.AsyncClient,
) -> None:
    me = await sign_up(http)
    ada = await create_contact(
        http,
        me.token,
        firstName="Ada",
        lastName="Lovelace",
        company="Analytical Engines Ltd",
        emails=[{"value": "ada@example.com"}],
        phones=[{"value": "+44 20 7946 0958"}],
    )
    ada_mail = await create_contact(
        http, me.token, firstName="A.", lastName="King", emails=[{"value": " ADA@Example.com"}]
    )
    ada_phone = await create_contact(
        http, me.token, firstName="Countess", phones=[{"value": "020 7946 0958"}]
    )
    ada_work = await create_contact(
        http, me.token, firstName="Ada", lastName="Lovelace", company="Analytical Engines, Inc."
    )
    linked = [
        await create_contact(
            http, me.token, firstName=name, urls=[{"value": "https://www.linkedin.com/in/gh"}]
        )
        for name in ("Grace", "Grace H.")
    ]
    await create_contact(http, me.token, firstName="Alan", company="Analytical Engines")
    gone = await create_contact(
        http, me.token, firstName="Ada", emails=[{"value": "ada@example.com"}]
    )
    await data(
        http,
        "mutation($c: ID!) { deleteContact(id: $c) { __typename } }",
        {"c": gone["id"]},
        me.token,
    )

    page = (await data(http, CANDIDATES, {"first": 10}, me.token))["duplicateCandidates"]
    found = {
        frozenset((e["node"]["contactA"]["id"], e["node"]["contactB"]["id"])): e["node"]
        for e in page["edges"]
    }
    # Not Alan (same company, another name), not the deleted Ada, not the email and the
    # phone duplicates of Ada with each other (they share nothing).
    assert page["totalCount"] == 4
    assert set(found) == {
        frozenset((ada["id"], ada_mail["id"])),
        frozenset((ada["id"], ada_phone["id"])),
        frozenset((ada["id"], ada_work["id"])),
        frozenset((linked[0]["id"], linked[1]["id"])),
    }
    assert found[frozenset((ada["id"], ada_mail["id"]))]["reasons"] == [
        "same email ada@example.com"
    ]
    assert found[frozenset((ada["id"], ada_phone["id"]))]["reasons"] == [
        "same phone +44 20 7946 0958"
    ]
    assert found[frozenset((ada["id"], ada_work["id"]))]["reasons"] == [
        "similar names at Analytical Engines Ltd: Ada Lovelace and Ada Lovelace (100/100)"
    ]
    grace = found[frozenset((linked[0]["id"], linked[1]["id"]))]
    assert grace["reasons"][0] == "same profile URL https://www.linkedin.com/in/gh"
    scores = [e["node"]["score"] for e in page["edges"]]
    assert scores == sorted(scores, reverse=True)
    assert found[frozenset((ada["id"], ada_mail["id"]))]["score"] == 90

    # One at a time, the pages give the same pairs in the same order.
    walked, after = [], None
    while True:
        one = (await data(http, CANDIDATES, {"first": 1, "after": after}, me.token))[
            "duplicateCandidates"
        ]
        walked += [e["cursor"] for e in one["edges"]]
        if not one["pageInfo"]["hasNextPage"]:
            break
        after = one["pageInfo"]["endCursor"]
    assert walked == [e["cursor"] for e in page["edges"]]

    dismissed = (await data(http, DISMISS, {"a": ada_mail["id"], "b": ada["id"]}, me.token))[
        "dismissDuplicate"
    ]
    assert dismissed == {
        "__typename": "DuplicateDismissed",
        "contactA": ada_mail["id"],
        "contactB": ada["id"],
    }
    # Twice is the same as once.
    await data(http, DISMISS, {"a": ada["id"], "b": ada_mail["id"]}, me.token)
    later = (await data(http, CANDIDATES, {"first": 10}, me.token))["duplicateCandidates"]
    pairs = [
        frozenset((e["node"]["contactA"]["id"], e["node"]["contactB"]["id"]))
        for e in later["edges"]
    ]
    assert frozenset((ada["id"], ada_mail["id"])) not in pairs
    assert later["totalCount"] == page["totalCount"] - 1

    # After a merge, the merged contact is in no pair.
    await _merge(http, me.token, linked[0]["id"], [linked[1]["id"]])
    merged = (await data(http, CANDIDATES, {"first": 10}, me.token))["duplicateCandidates"]
    ids = {
        c
        for e in merged["edges"]
        for c in (e["node"]["contactA"]["id"], e["node"]["contactB"]["id"])
    }
    assert linked[1]["id"] not in ids


async def test_dismissing_needs_two_of_your_contacts(http: httpx.AsyncClient) -> None:
    me = await sign_up(http)
    other = await sign_up(http)
    mine = await create_contact(http, me.token)
    theirs = await create_contact(http, other.token)
    same = (await data(http, DISMISS, {"a": mine["id"], "b": mine["id"]}, me.token))[
        "dismissDuplicate"
    ]
    assert same["__typename"] == "ValidationError"
    assert same["fields"] == [{"field": "contactB", "message": "name two different contacts"}]
    foreign = (await data(http, DISMISS, {"a": mine["id"], "b": theirs["id"]}, me.token))[
        "dismissDuplicate"
    ]
    assert foreign == {"__typename": "NotFound", "entity": "contact", "id": theirs["id"]}


async def test_a_cursor_from_another_list_is_refused(http: httpx.AsyncClient) -> None:
    me = await sign_up(http)
    await create_contact(http, me.token)
    cursor = (
        await data(http, "{ contacts(first: 1) { pageInfo { endCursor } } }", None, me.token)
    )["contacts"]["pageInfo"]["endCursor"]
    refused = await post(http, CANDIDATES, {"first": 1, "after": cursor}, me.token)
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
