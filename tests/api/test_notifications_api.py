"""Devices, reminders, the agenda and the push history over HTTP; bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from notifications import planner
from notifications.sender import LogSender
from notifications.worker import Worker
from store import tables
from sync.clock import FixedClock
from tests.api.graphql import create_contact, data, post, sign_up

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
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    today = datetime.now(UTC).date()
    soon = today + timedelta(days=3)
    await create_contact(
        http,
        account.token,
        firstName="Ada",
        birthday={"month": soon.month, "day": soon.day, "year": soon.year - 30},
    )
    created = await data(
        http,
        CREATE_REMINDER,
        {"input": {"title": "Water the plants", "dueOn": today.isoformat(), "repeatUnit": "WEEK"}},
        account.token,
    )
    reminder = created["createReminder"]
    agenda = (await data(http, AGENDA, {"days": 7}, account.token))["upcoming"]
    assert [(i["kind"], i["date"], i["title"]) for i in agenda] == [
        ("REMINDER", today.isoformat(), "Water the plants"),
        ("BIRTHDAY", soon.isoformat(), "Ada"),
    ]
    assert agenda[1]["years"] == 30
    assert agenda[1]["contact"] == {"firstName": "Ada"}
    done = await data(
        http,
        "mutation($id: ID!) { completeReminder(id: $id) { ... on Reminder { nextOccurrence } } }",
        {"id": reminder["id"]},
        account.token,
    )
    next_week = (today + timedelta(days=7)).isoformat()
    assert done["completeReminder"]["nextOccurrence"] == next_week
    agenda = (await data(http, AGENDA, {"days": 7}, account.token))["upcoming"]
    assert [i["kind"] for i in agenda] == ["BIRTHDAY"]
    body = await post(http, AGENDA, {"days": 400}, account.token)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "days"}


HISTORY = """
{ notifications { totalCount nodes { id kind title status sentAt openedAt
    deliveries { outcome platform } } } }
"""


async def test_a_sent_push_shows_in_the_history_and_can_be_marked_opened(
    http: httpx.AsyncClient, api_app: Starlette
) -> None:
    account = await sign_up(http)
    await data(
        http,
        REGISTER,
        {"input": {"token": f"history-{account.user_id}", "platform": "ANDROID"}},
        account.token,
    )
    today = datetime.now(UTC).date().isoformat()
    await data(
        http,
        CREATE_REMINDER,
        {"input": {"title": "Send the deck", "dueOn": today, "dueTime": "00:00:00"}},
        account.token,
    )
    engine = api_app.state.engine
    now = datetime.now(UTC)
    await planner.plan_owners(engine, [UUID(account.user_id)], now)
    worker = Worker(engine=engine, sender=LogSender(), clock=FixedClock(now), plan=False)
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


async def test_a_push_not_sent_yet_cannot_be_marked_opened(
    http: httpx.AsyncClient, api_app: Starlette
) -> None:
    account = await sign_up(http)
    later = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    await data(
        http, CREATE_REMINDER, {"input": {"title": "Not yet", "dueOn": later}}, account.token
    )
    engine = api_app.state.engine
    owner = UUID(account.user_id)
    await planner.plan_owners(engine, [owner], datetime.now(UTC))
    s = tables.scheduled_notifications.c
    query = sa.select(s.id, s.status, s.opened_at).where(s.owner_id == owner)
    async with engine.connect() as conn:
        (pending,) = (await conn.execute(query)).all()
    assert pending.status == "PENDING"
    answer = await data(http, MARK_OPENED, {"id": str(pending.id)}, account.token)
    result = answer["markNotificationOpened"]
    assert result["__typename"] == "ValidationError"
    assert result["fields"][0]["field"] == "id"
    assert "not been sent yet" in result["fields"][0]["message"]
    async with engine.connect() as conn:
        assert (await conn.execute(query)).one().opened_at is None
