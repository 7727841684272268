"""One rule for a reminder's contact, online and from a push (sync/reminder.py).

Online the contact must be living; a push may name a contact deleted elsewhere (the device
saw it alive), but never one the owner does not have.
"""

from __future__ import annotations

import uuid

import httpx

from tests.api.graphql import create_contact, data, sign_up
from tests.api.test_sync_api import PUSH, now_clock, unique

CREATE = """
mutation($input: CreateReminderInput!) {
  createReminder(input: $input) {
    __typename
    ... on Reminder { id contactId }
    ... on NotFound { entity id }
  }
}
"""
UPDATE = """
mutation($id: ID!, $input: UpdateReminderInput!) {
  updateReminder(id: $id, input: $input) {
    __typename
    ... on Reminder { id title contactId }
    ... on NotFound { entity id }
  }
}
"""
REMINDERS = "{ reminders { totalCount nodes { id title contactId } } }"
DELETE_CONTACT = "mutation($id: ID!) { deleteContact(id: $id) { __typename } }"


def _put(number: int, reminder_id: str, contact_id: str) -> dict[str, object]:
    return {
        "id": number,
        "name": "reminder.put",
        "args": {
            "id": reminder_id,
            "hlc": now_clock("phone", number),
            "fields": {"title": "Send the photos", "dueOn": "2026-12-01", "contactId": contact_id},
        },
    }


async def test_a_deleted_contact_is_refused_online_and_kept_from_a_push(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    contact_id = (await create_contact(http, account.token, firstName="Grace"))["id"]
    deleted = await data(http, DELETE_CONTACT, {"id": contact_id}, account.token)
    assert deleted["deleteContact"]["__typename"] == "Deleted"

    # Online: the user sees the contact is gone, so naming it is a mistake to report.
    refused = await data(
        http,
        CREATE,
        {"input": {"title": "Send the photos", "dueOn": "2026-12-01", "contactId": contact_id}},
        account.token,
    )
    assert refused["createReminder"] == {
        "__typename": "NotFound",
        "entity": "contact",
        "id": contact_id,
    }
    assert (await data(http, REMINDERS, None, account.token))["reminders"]["totalCount"] == 0

    # A push: the device made the reminder while it saw the contact; it is kept, and a
    # contact the owner never had is refused without wedging the queue.
    kept, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    mutations = [_put(1, kept, contact_id), _put(2, str(uuid.uuid4()), stranger)]
    pushed = (
        await data(
            http,
            PUSH,
            {"input": {"clientId": unique("phone"), "schemaVersion": 1, "mutations": mutations}},
            account.token,
        )
    )["syncPush"]
    assert pushed["lastMutationId"] == 2
    assert [r["status"] for r in pushed["results"]] == ["APPLIED", "REJECTED"]
    assert stranger in pushed["results"][1]["reason"]
    listed = (await data(http, REMINDERS, None, account.token))["reminders"]
    assert listed["nodes"] == [{"id": kept, "title": "Send the photos", "contactId": contact_id}]

    # The same rule online for the kept reminder: other fields change, the contact may not
    # be named again while it is deleted.
    renamed = await data(http, UPDATE, {"id": kept, "input": {"title": "Print"}}, account.token)
    assert renamed["updateReminder"] == {
        "__typename": "Reminder",
        "id": kept,
        "title": "Print",
        "contactId": contact_id,
    }
    named = await data(
        http, UPDATE, {"id": kept, "input": {"contactId": contact_id}}, account.token
    )
    assert named["updateReminder"]["__typename"] == "NotFound"
