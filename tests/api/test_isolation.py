"""Only your own data: a second user tries every operation of the schema on the first's ids.

The cases below are checked against the schema itself, so an operation added later without
an isolation case fails this file until someone writes one. They run on both read paths: the
compiled one (reads/, asserted to have answered the reads that compile) and the resolvers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import jwt
import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer
from starlette.applications import Starlette

from api.app import create_app
from model.clock import FixedClock
from notifications import planner
from notifications.sender import LogSender
from notifications.worker import Worker
from store import tables
from tests.api.graphql import Account, create_contact, data, log_interaction, post, sign_up
from tests.api.mailbox import MAILBOX
from tests.conftest import make_settings, serve
from transfer.link import SALT

# Operations that need no token; those with a case below are still tried as Bob.
PUBLIC = {
    "signUp",
    "signIn",
    "refreshSession",
    "requestPasswordReset",
    "resetPassword",
    "confirmEmailChange",
    "confirmEmail",
}
# Sent as multipart uploads, which these JSON cases cannot: their isolation cases are in
# tests/api/test_import.py (Bob's import never reaches Alice's contacts).
UPLOADS = {"importContacts"}
# The reads the compiled path answers with one statement (reads/compile.py; syncPull through
# reads/pull.py); as Bob, each of these cases must have been answered by it, not the resolvers.
COMPILED = {"me", "contact", "contacts", "interaction", "interactions", "tags", "syncPull"}


@dataclass
class Served:
    """One app on the shared database, answering reads by one path."""

    app: Starlette
    url: str
    compiled: bool

    def compiled_count(self) -> int:
        reads = self.app.state.compiled_reads
        return 0 if reads is None else int(reads.compiled)


@pytest.fixture(scope="module", params=["compiled", "resolvers"])
async def served(
    request: pytest.FixtureRequest,
    api_app: Starlette,
    api_url: str,
    api_db: str,
    session_tmp: Path,
) -> AsyncIterator[Served]:
    if request.param == "compiled":
        assert api_app.state.compiled_reads is not None
        yield Served(api_app, api_url, compiled=True)
        return
    app = create_app(
        make_settings(session_tmp, graphql={"compiled_reads": False}),
        database_url=api_db,
        mailer=MAILBOX,
    )
    assert app.state.compiled_reads is None
    async with serve(app) as url:
        yield Served(app, url, compiled=False)


@pytest.fixture
async def path_http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        yield client


@dataclass
class World:
    alice: Account
    bob: Account
    contact: str
    interaction: str
    tag: str
    conflict: str
    bob_contact: str
    bob_tag: str
    goal: str = ""
    event: str = ""
    bob_event: str = ""
    reminder: str = ""
    device: str = ""
    notification: str = ""
    feed: str = ""
    colleague: str = ""
    invitation: str = ""
    card: str = ""
    request: str = ""


async def make_world(http: httpx.AsyncClient, app: Starlette | None = None) -> World:
    # Verified, so that invitations to them are shown and the test sees what may leak.
    alice, bob = await sign_up(http, verified=True), await sign_up(http, verified=True)
    contact = await create_contact(http, alice.token, firstName="Alice's friend", company="Secret")
    interaction = await log_interaction(http, alice.token, [contact["id"]], body="private notes")
    tag = await data(
        http,
        'mutation { createTag(input: {name: "Inner circle"}) { ... on Tag { id } } }',
        token=alice.token,
    )
    await data(
        http,
        "mutation($t: ID!, $c: [ID!]!) { tagContacts(tagId: $t, contactIds: $c) { __typename } }",
        {"t": tag["createTag"]["id"], "c": [contact["id"]]},
        alice.token,
    )
    conflict = await _make_conflict(http, alice, contact["id"])
    bob_contact = await create_contact(http, bob.token, firstName="Bob's friend")
    bob_tag = await data(
        http, 'mutation { createTag(input: {name: "Mine"}) { ... on Tag { id } } }', token=bob.token
    )
    world = World(
        alice,
        bob,
        contact["id"],
        interaction["id"],
        tag["createTag"]["id"],
        conflict,
        bob_contact["id"],
        bob_tag["createTag"]["id"],
    )
    await _make_networking(http, world)
    await _make_colleagues(http, world)
    feed = await data(http, "{ calendarFeed { url } }", token=alice.token)
    world.feed = feed["calendarFeed"]["url"]
    if app is not None:
        await _add_notifications(http, app, world)
    return world


async def _add_notifications(http: httpx.AsyncClient, app: Starlette, world: World) -> None:
    """Alice's reminder due today, her phone, and the push sent to it for that reminder."""
    today = dt.datetime.now(dt.UTC).date().isoformat()
    reminder = await data(
        http,
        'mutation($c: ID!, $d: Date!) { createReminder(input: {title: "Send deck", dueOn: $d,'
        ' dueTime: "00:00:00", contactId: $c}) { ... on Reminder { id } } }',
        {"c": world.contact, "d": today},
        world.alice.token,
    )
    device = await data(
        http,
        'mutation { registerDevice(input: {token: "alice-phone-token", platform: IOS})'
        " { ... on Device { id } } }",
        token=world.alice.token,
    )
    world.reminder = reminder["createReminder"]["id"]
    world.device = device["registerDevice"]["id"]
    engine = app.state.engine
    now = dt.datetime.now(dt.UTC)
    await planner.plan_owners(engine, [UUID(world.alice.user_id)], now)
    # Sent, so that it is history, with a delivery, for Bob to try to see.
    worker = Worker(engine=engine, sender=LogSender(), clock=FixedClock(now), plan=False)
    while await worker.deliver_due():
        pass
    async with engine.connect() as conn:
        s = tables.scheduled_notifications.c
        found = await conn.scalar(
            sa.select(s.id).where(
                s.owner_id == UUID(world.alice.user_id), s.subject_id == UUID(world.reminder)
            )
        )
    world.notification = str(found)


async def _make_colleagues(http: httpx.AsyncClient, world: World) -> None:
    """Alice's colleague Carol: a card Alice shared, a request Carol sent, and Dave's invitation."""
    carol, dave = await sign_up(http, verified=True), await sign_up(http, verified=True)
    sent = await data(
        http,
        "mutation($e: String!) { inviteColleague(email: $e) { ... on ColleagueInvitation { id } } }",
        {"e": carol.email},
        world.alice.token,
    )
    invitation_id = sent["inviteColleague"]["id"]
    await data(
        http,
        "mutation($id: ID!) { acceptColleague(invitationId: $id) { __typename } }",
        {"id": invitation_id},
        carol.token,
    )
    card = await data(
        http,
        "mutation($l: ID!, $c: ID!) { shareContact(colleagueId: $l, contactId: $c) {"
        " ... on SharedCard { id } } }",
        {"l": invitation_id, "c": world.contact},
        world.alice.token,
    )
    request = await data(
        http,
        'mutation($l: ID!) { requestIntroduction(colleagueId: $l, whom: "Your friend") {'
        " ... on IntroductionRequest { id } } }",
        {"l": invitation_id},
        carol.token,
    )
    pending = await data(
        http,
        "mutation($e: String!) { inviteColleague(email: $e) { ... on ColleagueInvitation { id } } }",
        {"e": world.alice.email},
        dave.token,
    )
    world.colleague = invitation_id
    world.card = card["shareContact"]["id"]
    world.request = request["requestIntroduction"]["id"]
    world.invitation = pending["inviteColleague"]["id"]


async def _make_networking(http: httpx.AsyncClient, world: World) -> None:
    """Alice's goal and event, with her contact met there."""
    goal = await data(
        http,
        'mutation($t: ID!) { createGoal(input: {title: "Meet", metric: MEET_NEW_PEOPLE, '
        'target: 3, period: MONTH, startsOn: "2026-11-01", tagId: $t}) { ... on Goal { id } } }',
        {"t": world.tag},
        world.alice.token,
    )
    event = await data(
        http,
        'mutation { createEvent(input: {name: "Summit", startsAt: "2026-11-20T18:00:00Z"}) '
        "{ ... on Event { id } } }",
        token=world.alice.token,
    )
    world.goal, world.event = goal["createGoal"]["id"], event["createEvent"]["id"]
    # Her contact is someone she wants to meet, for that goal (issue 18).
    await data(
        http,
        "mutation($c: ID!, $g: ID!) { updateContact(id: $c, input: {isTarget: true, "
        'targetGoalId: $g, researchNotes: "private research"}) { __typename } }',
        {"c": world.contact, "g": world.goal},
        world.alice.token,
    )
    await data(
        http,
        "mutation($e: ID!, $c: ID!) { addEventAttendee(eventId: $e, contactId: $c) { __typename } }",
        {"e": world.event, "c": world.contact},
        world.alice.token,
    )
    bobs = await data(
        http,
        'mutation { createEvent(input: {name: "Bob\'s", startsAt: "2026-11-21T18:00:00Z"}) '
        "{ ... on Event { id } } }",
        token=world.bob.token,
    )
    world.bob_event = bobs["createEvent"]["id"]


PUSH = """
mutation($input: SyncPushInput!) {
  syncPush(input: $input) { lastMutationId results { id status reason } }
}
"""


def alice_session(alice: Account) -> str:
    """Alice's sign-in session id, as her access token names it."""
    return str(jwt.decode(alice.token, options={"verify_signature": False})["sid"])


def alice_client(alice: Account) -> str:
    return f"{alice.user_id}-1"


async def _make_conflict(http: httpx.AsyncClient, alice: Account, contact_id: str) -> str:
    """Two of Alice's devices edit the same notes; the older edit is kept as a conflict."""
    # Her own install ids: the file runs once per read path on one database.
    for client, hlc, text in (
        (alice_client(alice), "001700000000000-00000-a1", "new"),
        (f"{alice.user_id}-2", "001600000000000-00000-a2", "old"),
    ):
        mutation = {
            "id": 1,
            "name": "contact.put",
            "args": {"id": contact_id, "fields": {"notes": text}, "hlc": hlc},
        }
        await data(
            http,
            PUSH,
            {"input": {"clientId": client, "schemaVersion": 1, "mutations": [mutation]}},
            alice.token,
        )
    conflicts = await data(http, "{ syncConflicts { nodes { id } } }", token=alice.token)
    conflict_id: str = conflicts["syncConflicts"]["nodes"][0]["id"]
    return conflict_id


NOT_FOUND = "__typename ... on NotFound { entity id }"

# Each case: (root field, operation run as Bob, variables from the world, check of the data).
CASES: list[tuple[str, str, Any]] = [
    ("me", "{ me { id } }", lambda w, d: d["me"]["id"] == w.bob.user_id),
    (
        "contact",
        "query($c: ID!) { contact(id: $c) { " + NOT_FOUND + " } }",
        lambda w, d: d["contact"]["__typename"] == "NotFound",
    ),
    (
        "contacts",
        "{ contacts { totalCount nodes { id } } }",
        lambda w, d: [n["id"] for n in d["contacts"]["nodes"]] == [w.bob_contact],
    ),
    (
        "interaction",
        "query($i: ID!) { interaction(id: $i) { " + NOT_FOUND + " } }",
        lambda w, d: d["interaction"]["__typename"] == "NotFound",
    ),
    (
        "interactions",
        "{ interactions { totalCount } }",
        lambda w, d: d["interactions"]["totalCount"] == 0,
    ),
    ("tags", "{ tags { id } }", lambda w, d: d["tags"] == [{"id": w.bob_tag}]),
    (
        "updateMe",
        'mutation { updateMe(input: {displayName: "Bob"}) { ... on User { id } } }',
        lambda w, d: d["updateMe"]["id"] == w.bob.user_id,
    ),
    (
        "createContact",
        'mutation($c: ID!) { createContact(input: {firstName: "X", introducedById: $c}) { __typename } }',
        lambda w, d: d["createContact"]["__typename"] == "ValidationError",
    ),
    (
        "updateContact",
        'mutation($c: ID!) { updateContact(id: $c, input: {company: "Stolen"}) { '
        + NOT_FOUND
        + " } }",
        lambda w, d: d["updateContact"]["__typename"] == "NotFound",
    ),
    (
        "deleteContact",
        "mutation($c: ID!) { deleteContact(id: $c) { " + NOT_FOUND + " } }",
        lambda w, d: d["deleteContact"]["__typename"] == "NotFound",
    ),
    (
        "restoreContact",
        "mutation($c: ID!) { restoreContact(id: $c) { " + NOT_FOUND + " } }",
        lambda w, d: d["restoreContact"]["__typename"] == "NotFound",
    ),
    (
        "logInteraction",
        "mutation($c: ID!) { logInteraction(input: {contactIds: [$c]}) { " + NOT_FOUND + " } }",
        lambda w, d: d["logInteraction"]["__typename"] == "NotFound",
    ),
    (
        "updateInteraction",
        'mutation($i: ID!) { updateInteraction(id: $i, input: {body: "x"}) { ' + NOT_FOUND + " } }",
        lambda w, d: d["updateInteraction"]["__typename"] == "NotFound",
    ),
    (
        "deleteInteraction",
        "mutation($i: ID!) { deleteInteraction(id: $i) { " + NOT_FOUND + " } }",
        lambda w, d: d["deleteInteraction"]["__typename"] == "NotFound",
    ),
    (
        "restoreInteraction",
        "mutation($i: ID!) { restoreInteraction(id: $i) { " + NOT_FOUND + " } }",
        lambda w, d: d["restoreInteraction"]["__typename"] == "NotFound",
    ),
    (
        "createTag",
        'mutation { createTag(input: {name: "Inner circle"}) { ... on Tag { id } } }',
        lambda w, d: d["createTag"]["id"] != w.tag,
    ),
    (
        "renameTag",
        'mutation($t: ID!) { renameTag(id: $t, name: "Mine now") { ' + NOT_FOUND + " } }",
        lambda w, d: d["renameTag"]["__typename"] == "NotFound",
    ),
    (
        "deleteTag",
        "mutation($t: ID!) { deleteTag(id: $t) { " + NOT_FOUND + " } }",
        lambda w, d: d["deleteTag"]["__typename"] == "NotFound",
    ),
    (
        "tagContacts",
        "mutation($t: ID!, $bc: ID!) { tagContacts(tagId: $t, contactIds: [$bc]) { "
        + NOT_FOUND
        + " } }",
        lambda w, d: d["tagContacts"]["__typename"] == "NotFound",
    ),
    (
        "untagContacts",
        "mutation($t: ID!, $bc: ID!) { untagContacts(tagId: $t, contactIds: [$bc]) { "
        + NOT_FOUND
        + " } }",
        lambda w, d: d["untagContacts"]["__typename"] == "NotFound",
    ),
    (
        "syncPull",
        "query($bp: ID!) { syncPull(clientId: $bp, schemaVersion: 1) { changes } }",
        lambda w, d: (
            w.bob_contact in (ids := {c["id"] for c in d["syncPull"]["changes"]})
            and not ids & {w.contact, w.interaction, w.tag}
        ),
    ),
    (
        "syncPush",
        'mutation($c: ID!, $bp: ID!) { syncPush(input: {clientId: $bp, schemaVersion: 1, mutations: [{id: 1, name: "contact.delete", args: {id: $c}}]}) { results { status } } }',
        lambda w, d: d["syncPush"]["results"] == [{"status": "REJECTED"}],
    ),
    (
        "syncConflicts",
        "{ syncConflicts { totalCount } }",
        lambda w, d: d["syncConflicts"]["totalCount"] == 0,
    ),
    (
        "resolveSyncConflict",
        "mutation($k: ID!) { resolveSyncConflict(id: $k, keep: LOSER) { " + NOT_FOUND + " } }",
        lambda w, d: d["resolveSyncConflict"]["__typename"] == "NotFound",
    ),
    # Insights (issue 6).
    (
        "reconnectSuggestions",
        "{ reconnectSuggestions { contact { id } } }",
        lambda w, d: d["reconnectSuggestions"] == [],
    ),
    (
        "introductionSuggestions",
        "{ introductionSuggestions { contactA { id } contactB { id } } }",
        lambda w, d: d["introductionSuggestions"] == [],
    ),
    (
        "conversationStarters",
        "query($c: ID!) { conversationStarters(contactId: $c) { __typename } }",
        lambda w, d: d["conversationStarters"]["__typename"] == "NotFound",
    ),
    # Follow-ups (issue 18).
    (
        "followUpDraft",
        "query($i: ID!) { followUpDraft(interactionId: $i) { " + NOT_FOUND + " } }",
        lambda w, d: (
            d["followUpDraft"]
            == {"__typename": "NotFound", "entity": "interaction", "id": w.interaction}
        ),
    ),
    (
        "followUpsOwed",
        "{ followUpsOwed(afterDays: 0) { contact { id } interaction { id } } }",
        lambda w, d: d["followUpsOwed"] == [],
    ),
    (
        "logIntroduction",
        "mutation($bc: ID!, $c: ID!) { logIntroduction(contactA: $bc, contactB: $c) { "
        + NOT_FOUND
        + " } }",
        lambda w, d: (
            d["logIntroduction"] == {"__typename": "NotFound", "entity": "contact", "id": w.contact}
        ),
    ),
    ("goals", "{ goals(includeArchived: true) { id } }", lambda w, d: d["goals"] == []),
    # Targets and the follow-up offer (issue 18).
    ("targets", "{ targets { id } }", lambda w, d: d["targets"] == []),
    (
        "introductionPaths",
        "query($c: ID!) { introductionPaths(targetId: $c) { " + NOT_FOUND + " } }",
        lambda w, d: (
            d["introductionPaths"]
            == {"__typename": "NotFound", "entity": "contact", "id": w.contact}
        ),
    ),
    (
        "acceptFollowUpOffer",
        "mutation($i: ID!) { acceptFollowUpOffer(interactionId: $i) { " + NOT_FOUND + " } }",
        lambda w, d: (
            d["acceptFollowUpOffer"]
            == {"__typename": "NotFound", "entity": "interaction", "id": w.interaction}
        ),
    ),
    ("events", "{ events { id } }", lambda w, d: d["events"] == [{"id": w.bob_event}]),
    (
        "networkSummary",
        '{ networkSummary(from: "2026-01-01", to: "2026-12-31") { interactions health { count } } }',
        lambda w, d: (
            d["networkSummary"]["interactions"] == 0
            and sum(b["count"] for b in d["networkSummary"]["health"]) == 1
        ),
    ),
    (
        "createGoal",
        'mutation($t: ID!) { createGoal(input: {title: "x", metric: MEET_NEW_PEOPLE, target: 1, '
        'period: WEEK, startsOn: "2026-11-01", tagId: $t}) { __typename } }',
        lambda w, d: d["createGoal"]["__typename"] == "ValidationError",
    ),
    (
        "updateGoal",
        'mutation($g: ID!) { updateGoal(id: $g, input: {title: "Mine"}) { ' + NOT_FOUND + " } }",
        lambda w, d: d["updateGoal"]["__typename"] == "NotFound",
    ),
    (
        "archiveGoal",
        "mutation($g: ID!) { archiveGoal(id: $g) { " + NOT_FOUND + " } }",
        lambda w, d: d["archiveGoal"]["__typename"] == "NotFound",
    ),
    (
        "createEvent",
        'mutation { createEvent(input: {name: "Mine", startsAt: "2026-11-20T18:00:00Z"}) { ... on Event { id } } }',
        lambda w, d: d["createEvent"]["id"] != w.event,
    ),
    (
        "updateEvent",
        'mutation($e: ID!) { updateEvent(id: $e, input: {name: "Mine"}) { ' + NOT_FOUND + " } }",
        lambda w, d: d["updateEvent"]["__typename"] == "NotFound",
    ),
    (
        "addEventAttendee",
        "mutation($e: ID!, $bc: ID!) { addEventAttendee(eventId: $e, contactId: $bc) { "
        + NOT_FOUND
        + " } }",
        lambda w, d: d["addEventAttendee"]["__typename"] == "NotFound",
    ),
    ("devices", "{ devices { id } }", lambda w, d: d["devices"] == []),
    (
        "notifications",
        "{ notifications { totalCount nodes { id deliveries { deviceId } } } }",
        lambda w, d: d["notifications"] == {"totalCount": 0, "nodes": []},
    ),
    (
        "upcoming",
        "{ upcoming(days: 30) { reminderId contactId } }",
        lambda w, d: all(
            item["reminderId"] != w.reminder and item["contactId"] != w.contact
            for item in d["upcoming"]
        ),
    ),
    ("reminders", "{ reminders { totalCount } }", lambda w, d: d["reminders"]["totalCount"] == 0),
    (
        "registerDevice",
        'mutation { registerDevice(input: {token: "bob-phone-token", platform: ANDROID})'
        " { ... on Device { id } } }",
        lambda w, d: d["registerDevice"]["id"] != w.device,
    ),
    (
        "unregisterDevice",
        "mutation($dv: ID!) { unregisterDevice(id: $dv) { " + NOT_FOUND + " } }",
        lambda w, d: d["unregisterDevice"]["__typename"] == "NotFound",
    ),
    (
        "markNotificationOpened",
        "mutation($n: ID!) { markNotificationOpened(id: $n) { " + NOT_FOUND + " } }",
        lambda w, d: d["markNotificationOpened"]["__typename"] == "NotFound",
    ),
    (
        "createReminder",
        'mutation($c: ID!) { createReminder(input: {title: "X", dueOn: "2030-01-01",'
        " contactId: $c}) { " + NOT_FOUND + " } }",
        lambda w, d: d["createReminder"]["__typename"] == "NotFound",
    ),
    (
        "updateReminder",
        'mutation($r: ID!) { updateReminder(id: $r, input: {title: "Mine"}) { '
        + NOT_FOUND
        + " } }",
        lambda w, d: d["updateReminder"]["__typename"] == "NotFound",
    ),
    (
        "completeReminder",
        "mutation($r: ID!) { completeReminder(id: $r) { " + NOT_FOUND + " } }",
        lambda w, d: d["completeReminder"]["__typename"] == "NotFound",
    ),
    (
        "snoozeReminder",
        'mutation($r: ID!) { snoozeReminder(id: $r, until: "2099-01-01") { ' + NOT_FOUND + " } }",
        lambda w, d: d["snoozeReminder"]["__typename"] == "NotFound",
    ),
    (
        "deleteReminder",
        "mutation($r: ID!) { deleteReminder(id: $r) { " + NOT_FOUND + " } }",
        lambda w, d: d["deleteReminder"]["__typename"] == "NotFound",
    ),
    (
        "sessions",
        "{ sessions { id current } }",
        lambda w, d: (
            [s["current"] for s in d["sessions"]] == [True]
            and d["sessions"][0]["id"] != alice_session(w.alice)
        ),
    ),
    (
        "revokeSession",
        "mutation($as: ID!) { revokeSession(id: $as) { " + NOT_FOUND + " } }",
        lambda w, d: d["revokeSession"]["__typename"] == "NotFound",
    ),
    (
        "changePassword",
        'mutation { changePassword(input: {currentPassword: "Alice\'s guess", newPassword:'
        ' "a long new password"}) { __typename } }',
        lambda w, d: d["changePassword"]["__typename"] == "InvalidCredentials",
    ),
    (
        "deleteAccount",
        'mutation { deleteAccount(input: {password: "not Bob\'s password"}) { __typename } }',
        lambda w, d: d["deleteAccount"]["__typename"] == "InvalidCredentials",
    ),
    (
        "requestExport",
        "mutation { requestExport { url } }",
        lambda w, d: _export_owner(d["requestExport"]["url"]) == w.bob.user_id,
    ),
    (
        "duplicateCandidates",
        "{ duplicateCandidates { totalCount nodes { contactA { id } } } }",
        lambda w, d: d["duplicateCandidates"] == {"totalCount": 0, "nodes": []},
    ),
    (
        "dismissDuplicate",
        "mutation($bc: ID!, $c: ID!) { dismissDuplicate(contactA: $bc, contactB: $c) { "
        + NOT_FOUND
        + " } }",
        lambda w, d: (
            d["dismissDuplicate"]
            == {"__typename": "NotFound", "entity": "contact", "id": w.contact}
        ),
    ),
    (
        "mergeContacts",
        "mutation($bc: ID!, $c: ID!) { mergeContacts(keepId: $bc, mergeIds: [$c]) { "
        + NOT_FOUND
        + " } }",
        lambda w, d: (
            d["mergeContacts"] == {"__typename": "NotFound", "entity": "contact", "id": w.contact}
        ),
    ),
    (
        "calendarFeed",
        "{ calendarFeed { url } }",
        lambda w, d: (
            d["calendarFeed"]["url"].endswith(".ics") and d["calendarFeed"]["url"] != w.feed
        ),
    ),
    (
        # Bob's rotation leaves Alice's URL as it was (ALICE_VIEW, before and after).
        "rotateCalendarFeed",
        "mutation { rotateCalendarFeed { url } }",
        lambda w, d: d["rotateCalendarFeed"]["url"] != w.feed,
    ),
    (
        # The link goes to Alice's mailbox, never to the one asking; the answer says nothing.
        "requestPasswordReset",
        "mutation($ae: String!) { requestPasswordReset(email: $ae) { __typename } }",
        lambda w, d: d["requestPasswordReset"]["__typename"] == "PasswordResetRequested",
    ),
    (
        "resetPassword",
        'mutation { resetPassword(input: {token: "guessed", newPassword: "a long new password"})'
        " { __typename } }",
        lambda w, d: d["resetPassword"]["__typename"] == "InvalidCredentials",
    ),
    (
        "changeEmail",
        "mutation($ae: String!) { changeEmail(input: {newEmail: $ae,"
        ' password: "correct horse battery staple"}) { __typename } }',
        lambda w, d: d["changeEmail"]["__typename"] == "Conflict",
    ),
    (
        "confirmEmailChange",
        'mutation { confirmEmailChange(token: "guessed") { __typename } }',
        lambda w, d: d["confirmEmailChange"]["__typename"] == "InvalidCredentials",
    ),
    (
        # Bob's own address gets the link (he is verified already: none); Alice's stays as is.
        "requestEmailVerification",
        "mutation { requestEmailVerification { __typename } }",
        lambda w, d: d["requestEmailVerification"]["__typename"] == "EmailVerificationRequested",
    ),
    (
        "confirmEmail",
        'mutation { confirmEmail(token: "guessed") { __typename } }',
        lambda w, d: d["confirmEmail"]["__typename"] == "InvalidCredentials",
    ),
    ("colleagues", "{ colleagues { id } }", lambda w, d: d["colleagues"] == []),
    (
        "colleagueInvitations",
        "{ colleagueInvitations { incoming { id } outgoing { id } } }",
        lambda w, d: d["colleagueInvitations"] == {"incoming": [], "outgoing": []},
    ),
    (
        "sharedCards",
        "{ sharedCards(direction: OUTGOING) { id } }",
        lambda w, d: d["sharedCards"] == [],
    ),
    (
        "introductionRequests",
        "{ introductionRequests { id } }",
        lambda w, d: d["introductionRequests"] == [],
    ),
    (
        # Alice's address: answered as any address is, and nothing of hers changes.
        "inviteColleague",
        "mutation($ae: String!) { inviteColleague(email: $ae) { __typename } }",
        lambda w, d: d["inviteColleague"]["__typename"] == "ColleagueInvitation",
    ),
    (
        "acceptColleague",
        "mutation($ai: ID!) { acceptColleague(invitationId: $ai) { " + NOT_FOUND + " } }",
        lambda w, d: d["acceptColleague"]["id"] == w.invitation,
    ),
    (
        "declineColleague",
        "mutation($ai: ID!) { declineColleague(invitationId: $ai) { " + NOT_FOUND + " } }",
        lambda w, d: d["declineColleague"]["id"] == w.invitation,
    ),
    (
        "endColleague",
        "mutation($cl: ID!) { endColleague(colleagueId: $cl) { " + NOT_FOUND + " } }",
        lambda w, d: (
            d["endColleague"]
            == {"__typename": "NotFound", "entity": "colleague", "id": w.colleague}
        ),
    ),
    (
        "shareContact",
        "mutation($cl: ID!, $bc: ID!) { shareContact(colleagueId: $cl, contactId: $bc) { "
        + NOT_FOUND
        + " } }",
        lambda w, d: d["shareContact"]["entity"] == "colleague",
    ),
    (
        "acceptSharedCard",
        "mutation($sc: ID!) { acceptSharedCard(id: $sc) { " + NOT_FOUND + " } }",
        lambda w, d: (
            d["acceptSharedCard"]
            == {"__typename": "NotFound", "entity": "shared card", "id": w.card}
        ),
    ),
    (
        "dismissSharedCard",
        "mutation($sc: ID!) { dismissSharedCard(id: $sc) { " + NOT_FOUND + " } }",
        lambda w, d: d["dismissSharedCard"]["entity"] == "shared card",
    ),
    (
        "requestIntroduction",
        'mutation($cl: ID!) { requestIntroduction(colleagueId: $cl, whom: "Anyone") { '
        + NOT_FOUND
        + " } }",
        lambda w, d: d["requestIntroduction"]["entity"] == "colleague",
    ),
    (
        "acceptIntroduction",
        "mutation($ir: ID!, $bc: ID!) { acceptIntroduction(id: $ir, contactId: $bc,"
        " shareCard: true) { " + NOT_FOUND + " } }",
        lambda w, d: (
            d["acceptIntroduction"]
            == {"__typename": "NotFound", "entity": "introduction request", "id": w.request}
        ),
    ),
    (
        "declineIntroduction",
        "mutation($ir: ID!) { declineIntroduction(id: $ir) { " + NOT_FOUND + " } }",
        lambda w, d: d["declineIntroduction"]["entity"] == "introduction request",
    ),
    ("signOut", "mutation { signOut { ok } }", lambda w, d: d["signOut"]["ok"] is True),
]

# Bob's own tag used on Alice's contact must fail too.
CROSS = [
    "mutation($bt: ID!, $c: ID!) { tagContacts(tagId: $bt, contactIds: [$c]) { "
    + NOT_FOUND
    + " } }",
    "mutation($bt: ID!, $c: ID!) { untagContacts(tagId: $bt, contactIds: [$c]) { "
    + NOT_FOUND
    + " } }",
    "query($c: ID!) { interactions(contactId: $c) { totalCount } }",
    "query($ac: ID!) { syncPull(clientId: $ac, schemaVersion: 1) { changes } }",
    "mutation($ac: ID!) { syncPush(input: {clientId: $ac, schemaVersion: 1, mutations: []}) { lastMutationId } }",
    # Bob's own event with Alice's contact, and Bob's contact introduced to Alice's.
    "mutation($be: ID!, $c: ID!) { addEventAttendee(eventId: $be, contactId: $c) { "
    + NOT_FOUND
    + " } }",
    "mutation($c: ID!, $bc: ID!) { logIntroduction(contactA: $c, contactB: $bc) { "
    + NOT_FOUND
    + " } }",
    # Alice's contact as the survivor of Bob's, and the other way round.
    "mutation($c: ID!, $bc: ID!) { mergeContacts(keepId: $c, mergeIds: [$bc]) { "
    + NOT_FOUND
    + " } }",
    "mutation($c: ID!, $bc: ID!) { dismissDuplicate(contactA: $c, contactB: $bc) { "
    + NOT_FOUND
    + " } }",
]

ALICE_VIEW = """
query($c: ID!, $i: ID!) {
  me { id displayName email }
  calendarFeed { url }
  contact(id: $c) { ... on Contact { firstName company tags { id name } interactions { nodes { id body } } } }
  interaction(id: $i) { ... on Interaction { body } }
  tags { id name }
  contacts { totalCount }
  syncConflicts { nodes { id losingValue } }
  reminders { nodes { id title dueOn snoozedUntil completedThrough } }
  devices { id active }
  notifications(first: 5) {
    totalCount nodes { id status openedAt deliveries { deviceId platform outcome } }
  }
  goals(includeArchived: true) { id title archived tagId }
  events { id name attendees { contact { id } status } }
  colleagues { id status }
  # Bob's inviteColleague (a case) adds one to her incoming invitations, as anyone's may.
  colleagueInvitations { outgoing { id status } }
  sharedCards(direction: OUTGOING) { id status }
  introductionRequests { id status }
}
"""


def root_fields(app: Starlette) -> set[str]:
    schema = app.state.schema._schema
    return set(schema.query_type.fields) | set(schema.mutation_type.fields)


def variables(world: World, operation: str) -> dict[str, str]:
    candidates = {
        "c": world.contact,
        "i": world.interaction,
        "t": world.tag,
        "bc": world.bob_contact,
        "bt": world.bob_tag,
        "k": world.conflict,
        "ac": alice_client(world.alice),
        "bp": f"{world.bob.user_id}-phone",
        "r": world.reminder,
        "dv": world.device,
        "n": world.notification,
        "g": world.goal,
        "e": world.event,
        "be": world.bob_event,
        "as": alice_session(world.alice),
        "ae": world.alice.email,
        "cl": world.colleague,
        "ai": world.invitation,
        "sc": world.card,
        "ir": world.request,
    }
    return {k: v for k, v in candidates.items() if f"${k}:" in operation}


def _export_owner(url: str) -> str:
    """The account an export link names (what its signature covers; test_export.py)."""
    # Read without the key (itsdangerous may have compressed it), as anyone holding it could.
    token = url.removeprefix("/export/")
    owner: str = URLSafeSerializer("not the key", salt=SALT).loads_unsafe(token)[1]["o"]
    return owner


def test_every_operation_has_an_isolation_case(api_app: Starlette) -> None:
    assert {name for name, _, _ in CASES} | PUBLIC | UPLOADS == root_fields(api_app)


async def test_a_second_user_cannot_touch_the_first_users_rows(
    path_http: httpx.AsyncClient, served: Served
) -> None:
    http = path_http
    world = await make_world(http, served.app)
    before = await data(
        http, ALICE_VIEW, {"c": world.contact, "i": world.interaction}, world.alice.token
    )
    # Alice has a push that went to her phone: there is history for Bob to try to see.
    assert before["notifications"] == {
        "totalCount": 1,
        "nodes": [
            {
                "id": world.notification,
                "status": "SENT",
                "openedAt": None,
                "deliveries": [
                    {"deviceId": world.device, "platform": "ios", "outcome": "DELIVERED"}
                ],
            }
        ],
    }
    for name, operation, check in CASES:
        before_count = served.compiled_count()
        body = await post(http, operation, variables(world, operation), world.bob.token)
        assert "errors" not in body, (name, body)
        assert check(world, body["data"]), (name, body)
        answered = served.compiled_count() - before_count
        assert answered == (1 if served.compiled and name in COMPILED else 0), name
    # Bob signed out last; sign him in again for the cross checks.
    relog = await data(
        http,
        "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) { ... on AuthPayload { accessToken } } }",
        {"e": world.bob.email, "p": world.bob.password},
    )
    bob_token = relog["signIn"]["accessToken"]
    for operation in CROSS:
        body = await post(http, operation, variables(world, operation), bob_token)
        refused = (
            body.get("errors") or next(iter(body["data"].values()))["__typename"] == "NotFound"
        )
        assert refused, (operation, body)
    after = await data(
        http, ALICE_VIEW, {"c": world.contact, "i": world.interaction}, world.alice.token
    )
    assert after == before


@pytest.mark.parametrize("name", sorted({name for name, _, _ in CASES} - PUBLIC))
async def test_every_operation_but_sign_in_needs_a_token(
    path_http: httpx.AsyncClient, name: str
) -> None:
    http = path_http
    operation = next(op for n, op, _ in CASES if n == name)
    ids = {
        "c": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "i": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "t": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "bc": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "k": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "r": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "dv": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "n": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "g": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "e": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "as": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "bp": "a-phone",
        "ae": "someone@example.com",
        "cl": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "ai": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "sc": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
        "ir": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
    }
    body = await post(http, operation, {k: v for k, v in ids.items() if f"${k}:" in operation})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
