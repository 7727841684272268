"""Devices, reminders, the agenda and the push history over HTTP; bad input changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from api.app import create_app
from model.clock import FixedClock
from notifications import planner
from notifications.sender import LogSender
from notifications.worker import Worker
from store import tables
from tests.api.graphql import Account, create_contact, data, post, sign_up
from tests.conftest import make_settings, serve

# Monday 2026-11-23, noon UTC: the clock of the server these tests talk to (``timed``).
MONDAY = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock(MONDAY)


@pytest.fixture(scope="module")
def timed_app(api_db: str, session_tmp: Path, clock: FixedClock) -> Starlette:
    return create_app(make_settings(session_tmp), database_url=api_db, clock=clock)


@pytest.fixture(scope="module")
async def timed_url(timed_app: Starlette) -> AsyncIterator[str]:
    async with serve(timed_app) as url:
        yield url


@pytest.fixture
async def timed(timed_url: str, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a server whose clock says Monday noon UTC until a test moves it."""
    clock.at = MONDAY
    async with httpx.AsyncClient(base_url=timed_url, timeout=30) as client:
        yield client


REGISTER = """
mutation($input: RegisterDeviceInput!) {
  registerDevice(input: $input) {
    __typename
    ... on Device { id platform active tokenSuffix }
    ... on ValidationError { fields { field message } }
  }
}
"""
CREATE_REMINDER = """
mutation($input: CreateReminderInput!) {
  createReminder(input: $input) {
    __typename
    ... on Reminder { id title dueOn repeatUnit repeatEvery nextOccurrence }
    ... on ValidationError { fields { field message } }
    ... on NotFound { id }
  }
}
"""
UPDATE_ME = """
mutation($input: UpdateMeInput!) {
  updateMe(input: $input) {
    __typename
    ... on User { reminderHour leadDays { birthday followUp } }
    ... on ValidationError { fields { field message } }
  }
}
"""
STATE = "{ devices { id } reminders { totalCount } me { reminderHour leadDays { birthday } } }"


@pytest.mark.parametrize(
    ("operation", "variables", "field", "hint"),
    [
        (REGISTER, {"input": {"token": "", "platform": "IOS"}}, "token", "registration token"),
        (REGISTER, {"input": {"token": "x" * 5000, "platform": "IOS"}}, "token", "4096"),
        *(
            (REGISTER, {"input": {"platform": "IOS", **fields}}, field, hint)
            for fields, field, hint in [
                ({"token": "secret-token\u0000x"}, "token", "U+0000 at character 13"),
                ({"token": "\u200b"}, "token", "invisible character (U+200B"),
                ({"token": "\u0007\u0007"}, "token", "control or invisible"),
                ({"token": "abc\u00a0def"}, "token", "U+00A0"),
                ({"token": "abc\u202edef"}, "token", "U+202E"),
                ({"token": "fine-token", "appVersion": "1.0\u0000"}, "appVersion", "U+0000"),
                ({"token": "fine-token", "locale": "en\u200d"}, "locale", "U+200D"),
            ]
        ),
        (
            CREATE_REMINDER,
            {
                "input": {
                    "title": "Lunch",
                    "dueOn": "2026-12-01",
                    "repeatUnit": "MONTH",
                    "repeatEvery": 0,
                }
            },
            "repeatEvery",
            "greater than or equal to 1",
        ),
        (
            CREATE_REMINDER,
            {
                "input": {
                    "title": "Lunch",
                    "dueOn": "2026-12-01",
                    "repeatUnit": "MONTH",
                    "repeatEvery": -2,
                }
            },
            "repeatEvery",
            "greater than or equal to 1",
        ),
        (
            CREATE_REMINDER,
            {"input": {"title": "Lunch", "dueOn": "2026-12-01", "leadDays": [400]}},
            "leadDays.0",
            "less than or equal to 365",
        ),
        (
            CREATE_REMINDER,
            {"input": {"title": " ", "dueOn": "2026-12-01"}},
            "title",
            "must not be empty",
        ),
        (UPDATE_ME, {"input": {"reminderHour": 25}}, "reminderHour", "less than or equal to 23"),
        (
            UPDATE_ME,
            {"input": {"leadDays": {"birthday": [0, 400]}}},
            "leadDays.birthday.1",
            "less than or equal to 365",
        ),
    ],
)
async def test_bad_input_is_explained_and_changes_nothing(
    http: httpx.AsyncClient, operation: str, variables: dict[str, Any], field: str, hint: str
) -> None:
    account = await sign_up(http)
    before = await data(http, STATE, token=account.token)
    result = next(iter((await data(http, operation, variables, account.token)).values()))
    assert result["__typename"] == "ValidationError"
    messages = {f["field"]: f["message"] for f in result["fields"]}
    assert field in messages, messages
    assert hint.lower() in messages[field].lower()
    assert await data(http, STATE, token=account.token) == before


@pytest.mark.parametrize(
    ("operation", "variables"),
    [
        # Not one of the platforms: GraphQL itself refuses the enum value.
        (REGISTER, {"input": {"token": "abc", "platform": "BLACKBERRY"}}),
        # Not a time of day.
        (UPDATE_ME, {"input": {"quietHoursStart": "25:99", "quietHoursEnd": "07:00"}}),
    ],
)
async def test_values_of_the_wrong_type_are_refused_before_anything_runs(
    http: httpx.AsyncClient, operation: str, variables: dict[str, Any]
) -> None:
    account = await sign_up(http)
    body = await post(http, operation, variables, account.token)
    assert body["data"] is None
    assert "Variable '$input'" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await data(http, STATE, token=account.token) == {
        "devices": [],
        "reminders": {"totalCount": 0},
        "me": {"reminderHour": 9, "leadDays": {"birthday": [0, 7]}},
    }


async def test_a_token_registered_again_moves_and_is_never_duplicated(
    http: httpx.AsyncClient,
) -> None:
    first, second = await sign_up(http), await sign_up(http)
    token = f"fcm-token-{UUID(first.user_id).hex}"
    one = await data(http, REGISTER, {"input": {"token": token, "platform": "IOS"}}, first.token)
    again = await data(http, REGISTER, {"input": {"token": token, "platform": "IOS"}}, first.token)
    assert one["registerDevice"]["id"] == again["registerDevice"]["id"]
    assert len((await data(http, "{ devices { id } }", token=first.token))["devices"]) == 1
    # The phone now signs in to another account: the token goes with it.
    moved = await data(
        http, REGISTER, {"input": {"token": token, "platform": "ANDROID"}}, second.token
    )
    assert moved["registerDevice"]["tokenSuffix"] == token[-6:]
    assert (await data(http, "{ devices { id } }", token=first.token))["devices"] == []
    mine = (await data(http, "{ devices { platform } }", token=second.token))["devices"]
    assert mine == [{"platform": "ANDROID"}]


AGENDA = """
query($days: Int!) {
  upcoming(days: $days) { kind date title years overdueSince contact { firstName } reminderId }
}
"""


async def test_upcoming_lists_what_is_due_and_completing_moves_a_repeat_on(
    timed: httpx.AsyncClient,
) -> None:
    account = await sign_up(timed)
    today = MONDAY.date()
    soon = today + timedelta(days=3)
    await create_contact(
        timed,
        account.token,
        firstName="Ada",
        birthday={"month": soon.month, "day": soon.day, "year": soon.year - 30},
    )
    created = await data(
        timed,
        CREATE_REMINDER,
        {"input": {"title": "Water the plants", "dueOn": today.isoformat(), "repeatUnit": "WEEK"}},
        account.token,
    )
    reminder = created["createReminder"]
    agenda = (await data(timed, AGENDA, {"days": 7}, account.token))["upcoming"]
    assert [(i["kind"], i["date"], i["title"]) for i in agenda] == [
        ("REMINDER", today.isoformat(), "Water the plants"),
        ("BIRTHDAY", soon.isoformat(), "Ada"),
    ]
    assert agenda[1]["years"] == 30
    assert agenda[1]["contact"] == {"firstName": "Ada"}
    done = await data(timed, COMPLETE, {"id": reminder["id"]}, account.token)
    next_week = (today + timedelta(days=7)).isoformat()
    assert done["completeReminder"]["nextOccurrence"] == next_week
    agenda = (await data(timed, AGENDA, {"days": 7}, account.token))["upcoming"]
    assert [i["kind"] for i in agenda] == ["BIRTHDAY"]
    body = await post(timed, AGENDA, {"days": 400}, account.token)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "days"}


COMPLETE = """
mutation($id: ID!) {
  completeReminder(id: $id) {
    __typename ... on Reminder { completedThrough snoozedUntil nextOccurrence }
  }
}
"""
SNOOZE = """
mutation($id: ID!, $until: Date!) {
  snoozeReminder(id: $id, until: $until) { ... on Reminder { snoozedUntil nextOccurrence } }
}
"""


async def create_reminder(
    http: httpx.AsyncClient, account: Account, **fields: Any
) -> dict[str, Any]:
    created = await data(http, CREATE_REMINDER, {"input": fields}, account.token)
    reminder: dict[str, Any] = created["createReminder"]
    assert reminder["__typename"] == "Reminder", reminder
    return reminder


async def agenda_of(http: httpx.AsyncClient, account: Account) -> list[tuple[str, str, Any]]:
    items = (await data(http, AGENDA, {"days": 7}, account.token))["upcoming"]
    return [(i["title"], i["date"], i["overdueSince"]) for i in items]


async def test_a_reminder_behind_schedule_is_done_in_one_tap(timed: httpx.AsyncClient) -> None:
    account = await sign_up(timed)
    # Due Mondays from Nov 2 and never done: three missed, today's is the one due.
    reminder = await create_reminder(
        timed, account, title="Water the plants", dueOn="2026-11-02", repeatUnit="WEEK"
    )
    assert reminder["nextOccurrence"] == "2026-11-23"
    assert await agenda_of(timed, account) == [("Water the plants", "2026-11-23", None)]
    done = (await data(timed, COMPLETE, {"id": reminder["id"]}, account.token))["completeReminder"]
    assert done == {
        "__typename": "Reminder",
        "completedThrough": "2026-11-23",
        "snoozedUntil": None,
        "nextOccurrence": "2026-11-30",
    }
    assert await agenda_of(timed, account) == []


async def test_completing_a_snoozed_reminder_marks_done_what_the_snooze_covered(
    timed: httpx.AsyncClient,
) -> None:
    account = await sign_up(timed)
    pills = await create_reminder(
        timed, account, title="Pills", dueOn="2026-11-23", repeatUnit="DAY"
    )
    snoozed = await data(timed, SNOOZE, {"id": pills["id"], "until": "2026-11-25"}, account.token)
    assert snoozed["snoozeReminder"] == {
        "snoozedUntil": "2026-11-25",
        "nextOccurrence": "2026-11-23",
    }
    # Monday's pills on Wednesday; Tuesday's and Wednesday's own are covered by the snooze.
    assert await agenda_of(timed, account) == [
        ("Pills", day.isoformat(), None)
        for day in (date(2026, 11, 25), *(date(2026, 11, d) for d in range(26, 30)))
    ]
    done = (await data(timed, COMPLETE, {"id": pills["id"]}, account.token))["completeReminder"]
    assert (done["completedThrough"], done["nextOccurrence"]) == ("2026-11-25", "2026-11-26")


async def test_completing_on_the_snooze_day_leaves_nothing_to_push_that_day(
    timed: httpx.AsyncClient, timed_app: Starlette, clock: FixedClock
) -> None:
    account = await sign_up(timed)
    weekly = await create_reminder(
        timed, account, title="Water the plants", dueOn="2026-11-02", repeatUnit="WEEK"
    )
    await data(timed, SNOOZE, {"id": weekly["id"], "until": "2026-11-25"}, account.token)
    # Wednesday: the user opens the app and ticks it off.
    clock.at = MONDAY + timedelta(days=2)
    token = await sign_in(timed, account)
    done = (await data(timed, COMPLETE, {"id": weekly["id"]}, token))["completeReminder"]
    assert (done["completedThrough"], done["nextOccurrence"]) == ("2026-11-23", "2026-11-30")
    engine = timed_app.state.engine
    await planner.plan_owners(engine, [UUID(account.user_id)], clock.at)
    pending = await planned_days(engine, account)
    assert pending == [date(2026, 11, 30)]  # nothing due at once


SIGN_IN = """
mutation($input: SignInInput!) { signIn(input: $input) { ... on AuthPayload { accessToken } } }
"""


async def sign_in(http: httpx.AsyncClient, account: Account) -> str:
    answer = await data(
        http, SIGN_IN, {"input": {"email": account.email, "password": account.password}}
    )
    token: str = answer["signIn"]["accessToken"]
    return token


async def planned_days(engine: AsyncEngine, account: Account) -> list[date]:
    s = tables.scheduled_notifications.c
    async with engine.connect() as conn:
        query = (
            sa.select(s.local_date)
            .where(s.owner_id == UUID(account.user_id), s.status == "PENDING")
            .order_by(s.local_date)
        )
        return list((await conn.scalars(query)).all())


HISTORY = """
{ notifications { totalCount nodes { id kind title status sentAt openedAt
    deliveries { outcome platform } } } }
"""


async def test_a_sent_push_shows_in_the_history_and_can_be_marked_opened(
    timed: httpx.AsyncClient, timed_app: Starlette
) -> None:
    http = timed
    account = await sign_up(http)
    await data(
        http,
        REGISTER,
        {"input": {"token": f"history-{account.user_id}", "platform": "ANDROID"}},
        account.token,
    )
    today = MONDAY.date().isoformat()
    await data(
        http,
        CREATE_REMINDER,
        {"input": {"title": "Send the deck", "dueOn": today, "dueTime": "00:00:00"}},
        account.token,
    )
    engine = timed_app.state.engine
    await planner.plan_owners(engine, [UUID(account.user_id)], MONDAY)
    worker = Worker(engine=engine, sender=LogSender(), clock=FixedClock(MONDAY), plan=False)
    while await worker.deliver_due():
        pass
    history = (await data(http, HISTORY, token=account.token))["notifications"]
    assert history["totalCount"] == 1
    (sent,) = history["nodes"]
    assert (sent["kind"], sent["title"], sent["status"]) == ("REMINDER", "Send the deck", "SENT")
    assert sent["deliveries"] == [{"outcome": "DELIVERED", "platform": "android"}]
    opened = await data(
        http,
        "mutation($id: ID!) { markNotificationOpened(id: $id) { ... on Notification { openedAt } } }",
        {"id": sent["id"]},
        account.token,
    )
    assert opened["markNotificationOpened"]["openedAt"] is not None


MARK_OPENED = """
mutation($id: ID!) {
  markNotificationOpened(id: $id) {
    __typename
    ... on Notification { openedAt }
    ... on ValidationError { fields { field message } }
  }
}
"""


LEAD_DAYS = """
mutation($input: UpdateMeInput!) {
  updateMe(input: $input) {
    __typename
    ... on User { leadDays { birthday anniversary followUp reminder } }
    ... on ValidationError { fields { field message } }
  }
}
"""


async def test_a_push_not_sent_yet_cannot_be_marked_opened(
    timed: httpx.AsyncClient, timed_app: Starlette
) -> None:
    http = timed
    account = await sign_up(http)
    later = (MONDAY + timedelta(days=3)).date().isoformat()
    await data(
        http, CREATE_REMINDER, {"input": {"title": "Not yet", "dueOn": later}}, account.token
    )
    engine = timed_app.state.engine
    owner = UUID(account.user_id)
    await planner.plan_owners(engine, [owner], MONDAY)
    s = tables.scheduled_notifications.c
    query = sa.select(s.id, s.status, s.opened_at).where(s.owner_id == owner)
    async with engine.connect() as conn:
        (pending,) = (await conn.execute(query)).all()
    assert pending.status == "PENDING"
    answer = await data(http, MARK_OPENED, {"id": str(pending.id)}, account.token)
    result = answer["markNotificationOpened"]
    assert result["__typename"] == "ValidationError"
    assert result["fields"][0]["field"] == "id"
    assert "no device has received" in result["fields"][0]["message"]
    async with engine.connect() as conn:
        assert (await conn.execute(query)).one().opened_at is None
    # Nor one whose day passed before any device got it.
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(tables.scheduled_notifications)
            .where(s.owner_id == owner, s.id == pending.id)
            .values(status="MISSED")
        )
    answer = await data(http, MARK_OPENED, {"id": str(pending.id)}, account.token)
    assert answer["markNotificationOpened"]["__typename"] == "ValidationError"
    async with engine.connect() as conn:
        assert (await conn.execute(query)).one().opened_at is None


async def test_lead_days_sent_for_one_kind_leave_the_others_as_they_were(
    timed: httpx.AsyncClient,
) -> None:
    account = await sign_up(timed)
    await data(timed, LEAD_DAYS, {"input": {"leadDays": {"followUp": [0, 2]}}}, account.token)
    changed = await data(
        timed, LEAD_DAYS, {"input": {"leadDays": {"birthday": [1]}}}, account.token
    )
    assert changed["updateMe"]["leadDays"] == {
        "birthday": [1],
        "anniversary": [0],
        "followUp": [0, 2],
        "reminder": [0],
    }
    cleared = await data(
        timed, LEAD_DAYS, {"input": {"leadDays": {"reminder": None}}}, account.token
    )
    assert cleared["updateMe"] == {
        "__typename": "ValidationError",
        "fields": [
            {
                "field": "leadDays.reminder",
                "message": "cannot be cleared; send a list, or leave it out",
            }
        ],
    }


PULL = """
query($client: ID!, $cursor: String) {
  syncPull(clientId: $client, cursor: $cursor, schemaVersion: 1, limit: 100) { changes cursor }
}
"""
CONTACT_FOLLOW_UP = """
query($id: ID!) { contact(id: $id) { ... on Contact { nextFollowUpAt } } }
"""


async def test_a_new_time_zone_moves_a_snoozed_follow_up_to_its_day_there(
    timed: httpx.AsyncClient, timed_app: Starlette
) -> None:
    account = await sign_up(timed, time_zone="Europe/Berlin")
    ada = await create_contact(timed, account.token, firstName="Ada", snoozedUntil="2026-11-27")
    assert ada["nextFollowUpAt"] == "2026-11-26T23:00:00+00:00"  # midnight in Berlin
    pulled = (await data(timed, PULL, {"client": f"phone-{account.user_id}"}, account.token))[
        "syncPull"
    ]
    moved = await data(
        timed,
        'mutation { updateMe(input: {timeZone: "America/New_York"}) { __typename } }',
        token=account.token,
    )
    assert moved["updateMe"]["__typename"] == "User"
    read = await data(timed, CONTACT_FOLLOW_UP, {"id": ada["id"]}, account.token)
    assert read["contact"]["nextFollowUpAt"] == "2026-11-27T05:00:00+00:00"  # midnight there
    # Devices hear of it: the contact comes again in the next pull, with its new date.
    again = await data(
        timed,
        PULL,
        {"client": f"phone-{account.user_id}", "cursor": pulled["cursor"]},
        account.token,
    )
    changed = {c["id"]: c for c in again["syncPull"]["changes"] if c["entity"] == "contact"}
    assert changed[ada["id"]]["derived"]["nextFollowUpAt"].startswith("2026-11-27T05:00:00")
    # The agenda and the pushes follow: Friday in New York.
    engine = timed_app.state.engine
    await planner.plan_owners(engine, [UUID(account.user_id)], MONDAY)
    assert await planned_days(engine, account) == [date(2026, 11, 27)]


async def test_a_contacts_own_lead_days_are_kept(timed: httpx.AsyncClient) -> None:
    account = await sign_up(timed)
    created = await data(
        timed,
        'mutation { createContact(input: {firstName: "Ada", leadDays: [3]}) '
        "{ __typename ... on Contact { leadDays } } }",
        token=account.token,
    )
    assert created["createContact"] == {"__typename": "Contact", "leadDays": [3]}


async def test_upcoming_lists_overdue_items_first_today(timed: httpx.AsyncClient) -> None:
    account = await sign_up(timed)
    await create_contact(timed, account.token, firstName="Ada", birthday={"month": 11, "day": 23})
    await create_contact(timed, account.token, firstName="Bob", snoozedUntil="2026-11-20")
    await create_contact(timed, account.token, firstName="Cy", birthday={"month": 12, "day": 25})
    await create_reminder(timed, account, title="Pay rent", dueOn="2026-11-01")
    assert await agenda_of(timed, account) == [
        ("Pay rent", "2026-11-23", "2026-11-01"),
        ("Bob", "2026-11-23", "2026-11-20"),
        ("Ada", "2026-11-23", None),
    ]
