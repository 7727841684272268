"""The follow-up offer (issue 18): shown with a first meeting, accepted as reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.graphql import Account, create_contact, data, log_interaction, post, sign_up

LOG = """
mutation($input: LogInteractionInput!) {
  logInteraction(input: $input) {
    __typename
    ... on Interaction { id followUpOffer { dueOn reason contacts { id firstName } } }
  }
}
"""
OFFER = """
query($id: ID!, $after: Int! = 3) {
  interaction(id: $id) {
    ... on Interaction { followUpOffer(afterDays: $after) { dueOn reason contacts { id } } }
  }
}
"""
ACCEPT = """
mutation($id: ID!, $due: Date) {
  acceptFollowUpOffer(interactionId: $id, dueOn: $due) {
    __typename
    ... on FollowUpOfferAccepted { reminders { title notes dueOn contactId nextOccurrence } }
    ... on ValidationError { fields { field message } }
    ... on NotFound { entity id }
    ... on Conflict { message }
  }
}
"""
REMINDERS = "{ reminders { nodes { title contactId dueOn } } }"


def today() -> datetime:
    return datetime.now(UTC)


async def log(http: httpx.AsyncClient, account: Account, ids: list[str], **fields: Any) -> Any:
    values = {"contactIds": ids, "summary": "Coffee at the fair", "kind": "MEETING", **fields}
    return (await data(http, LOG, {"input": values}, account.token))["logInteraction"]


async def test_a_first_meeting_offers_a_follow_up_that_accepting_turns_into_reminders(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    new = await create_contact(http, account.token, firstName="Nell", lastName="New")
    known = await create_contact(http, account.token, firstName="Kit")
    await log_interaction(http, account.token, [known["id"]], kind="CALL")
    meeting = await log(http, account, [new["id"], known["id"]])
    offer = meeting["followUpOffer"]
    day = today().date()
    assert offer["dueOn"] == (day + timedelta(days=3)).isoformat()
    # Kit was met before: only Nell is new.
    assert offer["contacts"] == [{"id": new["id"], "firstName": "Nell"}]
    assert offer["reason"] == (
        f"first meeting with Nell New on {day.isoformat()}: follow up within 3 days if "
        "nothing else is logged"
    )
    later = await data(http, OFFER, {"id": meeting["id"], "after": 7}, account.token)
    assert later["interaction"]["followUpOffer"]["dueOn"] == (day + timedelta(days=7)).isoformat()

    accepted = (await data(http, ACCEPT, {"id": meeting["id"]}, account.token))[
        "acceptFollowUpOffer"
    ]
    assert accepted == {
        "__typename": "FollowUpOfferAccepted",
        "reminders": [
            {
                "title": "Follow up with Nell New",
                "notes": f"After the meeting on {day.isoformat()}: Coffee at the fair",
                "dueOn": (day + timedelta(days=3)).isoformat(),
                "contactId": new["id"],
                "nextOccurrence": (day + timedelta(days=3)).isoformat(),
            }
        ],
    }
    # Accepted: the offer is gone, and a second accept is a Conflict that writes nothing.
    gone = await data(http, OFFER, {"id": meeting["id"]}, account.token)
    assert gone["interaction"]["followUpOffer"] is None
    again = (await data(http, ACCEPT, {"id": meeting["id"]}, account.token))["acceptFollowUpOffer"]
    assert again["__typename"] == "Conflict"
    assert "no follow-up is on offer" in again["message"]
    listed = (await data(http, REMINDERS, token=account.token))["reminders"]["nodes"]
    assert [r["title"] for r in listed] == ["Follow up with Nell New"]


async def test_no_offer_for_notes_later_interactions_or_old_meetings(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    ann = await create_contact(http, account.token, firstName="Ann")
    note = await log(http, account, [ann["id"]], kind="NOTE")
    assert note["followUpOffer"] is None
    bea = await create_contact(http, account.token, firstName="Bea")
    old = await log(
        http, account, [bea["id"]], occurredAt=(today() - timedelta(days=40)).isoformat()
    )
    assert old["followUpOffer"] is None
    cat = await create_contact(http, account.token, firstName="Cat")
    first = await log(
        http, account, [cat["id"]], occurredAt=(today() - timedelta(days=5)).isoformat()
    )
    # Five days ago plus three is past: the reminder would be due today.
    assert first["followUpOffer"]["dueOn"] == today().date().isoformat()
    await log(http, account, [cat["id"]], kind="EMAIL")
    after = await data(http, OFFER, {"id": first["id"]}, account.token)
    assert after["interaction"]["followUpOffer"] is None
    refused = (await data(http, ACCEPT, {"id": first["id"]}, account.token))["acceptFollowUpOffer"]
    assert refused["__typename"] == "Conflict"


async def test_bad_accepts_get_typed_errors_and_write_nothing(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    stranger = await sign_up(http)
    dee = await create_contact(http, account.token, firstName="Dee")
    meeting = await log(http, account, [dee["id"]])
    yesterday = (today().date() - timedelta(days=1)).isoformat()
    past = (await data(http, ACCEPT, {"id": meeting["id"], "due": yesterday}, account.token))[
        "acceptFollowUpOffer"
    ]
    assert past["__typename"] == "ValidationError"
    assert past["fields"][0]["field"] == "dueOn"
    bad = (await data(http, ACCEPT, {"id": "nope"}, account.token))["acceptFollowUpOffer"]
    assert bad["__typename"] == "ValidationError"
    assert bad["fields"][0]["field"] == "interactionId"
    # Another user's interaction does not exist for this one.
    theirs = (await data(http, ACCEPT, {"id": meeting["id"]}, stranger.token))[
        "acceptFollowUpOffer"
    ]
    assert theirs == {"__typename": "NotFound", "entity": "interaction", "id": meeting["id"]}
    hidden = await data(http, OFFER, {"id": meeting["id"]}, stranger.token)
    assert hidden["interaction"] == {}
    out_of_range = await post(http, OFFER, {"id": meeting["id"], "after": 30}, account.token)
    assert out_of_range["errors"][0]["extensions"]["field"] == "afterDays"
    assert (await data(http, REMINDERS, token=account.token))["reminders"]["nodes"] == []
    assert (await data(http, REMINDERS, token=stranger.token))["reminders"]["nodes"] == []
    chosen = (await data(http, ACCEPT, {"id": meeting["id"], "due": "2099-01-02"}, account.token))[
        "acceptFollowUpOffer"
    ]
    assert [r["dueOn"] for r in chosen["reminders"]] == ["2099-01-02"]
