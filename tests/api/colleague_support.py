"""GraphQL documents and helpers for the colleague tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.graphql import Account, data, sign_up

FAILURES = """
  ... on ValidationError { message fields { field message } }
  ... on NotFound { message entity id }
  ... on Conflict { message }
"""
# Sharing a card and asking for an introduction are limited per sender, too.
SENDER_FAILURES = FAILURES + " ... on RateLimited { message retryAfter }"
COLLEAGUE = "id name email status endedBy since endedAt"
INVITATION = "id direction email name status createdAt expiresAt"
INVITE = (
    "mutation($e: String!) { inviteColleague(email: $e) { __typename ... on ColleagueInvitation { "
    + INVITATION
    + " } ... on ValidationError { message fields { field message } } ... on Conflict { message }"
    " ... on RateLimited { message retryAfter } ... on EmailUnverified { message } } }"
)
# Answering an invitation also needs a verified email.
INVITEE_FAILURES = FAILURES + " ... on EmailUnverified { message }"
ACCEPT = (
    "mutation($id: ID!) { acceptColleague(invitationId: $id) { __typename ... on Colleague { "
    + COLLEAGUE
    + " } "
    + INVITEE_FAILURES
    + " } }"
)
DECLINE = (
    "mutation($id: ID!) { declineColleague(invitationId: $id) { __typename "
    "... on ColleagueInvitation { " + INVITATION + " } " + INVITEE_FAILURES + " } }"
)
END = (
    "mutation($id: ID!) { endColleague(colleagueId: $id) { __typename ... on Colleague { "
    + COLLEAGUE
    + " } "
    + FAILURES
    + " } }"
)
COLLEAGUES = "{ colleagues { " + COLLEAGUE + " } }"
INVITATIONS = (
    "{ colleagueInvitations { incomingHidden incoming { "
    + INVITATION
    + " } outgoing { "
    + INVITATION
    + " } } }"
)
CARD = (
    "id direction colleagueId colleagueName note status firstName lastName company title "
    "emails { label value } phones { value } urls { value } contactId introductionId"
)
SHARE = (
    "mutation($c: ID!, $contact: ID!, $note: String, $fields: [CardField!]) {"
    " shareContact(colleagueId: $c, contactId: $contact, note: $note, fields: $fields) {"
    " __typename ... on SharedCard { " + CARD + " } " + SENDER_FAILURES + " } }"
)
ACCEPT_CARD = (
    "mutation($id: ID!) { acceptSharedCard(id: $id) { __typename ... on SharedCard { "
    + CARD
    + " } "
    + FAILURES
    + " } }"
)
DISMISS_CARD = (
    "mutation($id: ID!) { dismissSharedCard(id: $id) { __typename ... on SharedCard { "
    + CARD
    + " } "
    + FAILURES
    + " } }"
)
CARDS = "query($d: ShareDirection!) { sharedCards(direction: $d) { " + CARD + " } }"
REQUEST = (
    "id direction colleagueId colleagueName whom note status response contactId sharedCardId "
    "interactionId"
)
ASK = (
    "mutation($c: ID!, $whom: String!, $note: String, $contact: ID) {"
    " requestIntroduction(colleagueId: $c, whom: $whom, note: $note, contactId: $contact) {"
    " __typename ... on IntroductionRequest { " + REQUEST + " } " + SENDER_FAILURES + " } }"
)
ACCEPT_INTRO = (
    "mutation($id: ID!, $contact: ID!, $share: Boolean!, $note: String) {"
    " acceptIntroduction(id: $id, contactId: $contact, shareCard: $share, note: $note) {"
    " __typename ... on IntroductionRequest { " + REQUEST + " } " + FAILURES + " } }"
)
DECLINE_INTRO = (
    "mutation($id: ID!, $note: String) { declineIntroduction(id: $id, note: $note) {"
    " __typename ... on IntroductionRequest { " + REQUEST + " } " + FAILURES + " } }"
)
REQUESTS = "query($d: ShareDirection!) { introductionRequests(direction: $d) { " + REQUEST + " } }"


async def call(
    http: httpx.AsyncClient, query: str, who: Account, **variables: Any
) -> dict[str, Any]:
    """Run a mutation or query and return its one root field's value."""
    result = await data(http, query, variables, who.token)
    (value,) = result.values()
    answer: dict[str, Any] = value
    return answer


async def invite(http: httpx.AsyncClient, inviter: Account, email: str) -> dict[str, Any]:
    return await call(http, INVITE, inviter, e=email)


async def link(http: httpx.AsyncClient) -> tuple[Account, Account, str]:
    """Sign up two users and link them as colleagues; return both and the link's id."""
    alice, bob = await sign_up(http, verified=True), await sign_up(http, verified=True)
    sent = await invite(http, alice, bob.email)
    accepted = await call(http, ACCEPT, bob, id=sent["id"])
    assert accepted["__typename"] == "Colleague", accepted
    return alice, bob, accepted["id"]


async def colleagues(http: httpx.AsyncClient, who: Account) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await data(http, COLLEAGUES, token=who.token))["colleagues"]
    return rows


async def invitations(http: httpx.AsyncClient, who: Account) -> dict[str, Any]:
    rows: dict[str, Any] = (await data(http, INVITATIONS, token=who.token))["colleagueInvitations"]
    return rows
