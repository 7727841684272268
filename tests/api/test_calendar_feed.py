"""The calendar feed over HTTP: what it holds, expanded as a calendar app would, and its URL.

The feed is parsed with ``icalendar`` and its recurrences expanded with
``recurring-ical-events`` (not by Rapport's own date code), across a daylight-saving change.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import icalendar
import recurring_ical_events

from tests.api.graphql import create_contact, data, post, sign_up

FEED = "{ calendarFeed { url } }"
ROTATE = "mutation { rotateCalendarFeed { url } }"
CREATE_REMINDER = """
mutation($input: CreateReminderInput!) {
  createReminder(input: $input) { __typename ... on Reminder { id } }
}
"""
COMPLETE_REMINDER = "mutation($id: ID!) { completeReminder(id: $id) { __typename } }"
BERLIN = ZoneInfo("Europe/Berlin")


async def feed_url(http: httpx.AsyncClient, token: str) -> str:
    url: str = (await data(http, FEED, token=token))["calendarFeed"]["url"]
    return url


async def fetch(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """GET a feed URL on the test server (the URL names the configured public address)."""
    return await http.get(urlsplit(url).path)


async def reminder(http: httpx.AsyncClient, token: str, **fields: Any) -> str:
    result = (await data(http, CREATE_REMINDER, {"input": fields}, token))["createReminder"]
    assert result["__typename"] == "Reminder", result
    ident: str = result["id"]
    return ident


def occurrences(body: bytes, start: date, end: date) -> dict[str, list[Any]]:
    """Each event's starts between ``start`` and ``end``, by summary."""
    calendar = icalendar.Calendar.from_ical(body)
    found: dict[str, list[Any]] = {}
    for event in recurring_ical_events.of(calendar).between(start, end):
        found.setdefault(str(event["SUMMARY"]), []).append(event.decoded("DTSTART"))
    return {summary: sorted(starts, key=str) for summary, starts in found.items()}


async def test_the_feed_expands_to_the_right_local_days_and_times(
    http: httpx.AsyncClient,
) -> None:
    user = await sign_up(http, time_zone="Europe/Berlin")
    leap = await create_contact(
        http,
        user.token,
        firstName="Ada",
        lastName="Leap",
        company="Acme",
        birthday={"month": 2, "day": 29},
        workStartedOn="2020-03-30",
        cadenceDays=14,
    )
    # Weekly at 09:00 Berlin time, across the change to summer time on 2027-03-28.
    await reminder(
        http,
        user.token,
        title="Weekly call",
        dueOn="2027-03-20",
        dueTime="09:00:00",
        repeatUnit="WEEK",
    )
    # Month ends clamp as pushes count them: Jan 31 monthly, then Feb 28, Mar 31, Apr 30.
    await reminder(http, user.token, title="Month end", dueOn="2027-01-31", repeatUnit="MONTH")
    done = await reminder(http, user.token, title="Done already", dueOn="2027-03-01")
    await data(http, COMPLETE_REMINDER, {"id": done}, user.token)

    response = await fetch(http, await feed_url(http, user.token))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert response.headers["cache-control"] == "no-store"

    found = occurrences(response.content, date(2027, 1, 1), date(2028, 12, 31))
    # Feb 29 falls on Feb 28 in common years, and on Feb 29 in leap years.
    assert found["Ada Leap's birthday"] == [date(2027, 2, 28), date(2028, 2, 29)]
    assert found["Ada Leap's work anniversary at Acme"] == [date(2027, 3, 30), date(2028, 3, 30)]
    assert found["Month end"][:4] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]
    assert "Done already" not in found
    follow_up = datetime.fromisoformat(leap["nextFollowUpAt"]).astimezone(BERLIN).date()
    march = occurrences(response.content, follow_up, follow_up)
    assert march.get("Follow up with Ada Leap") == [follow_up]

    calls = occurrences(response.content, date(2027, 3, 15), date(2027, 4, 8))["Weekly call"]
    assert [c.date() for c in calls] == [date(2027, 3, 20), date(2027, 3, 27), date(2027, 4, 3)]
    # 09:00 on the wall clock each week, though the UTC offset moved from +1 to +2 hours.
    assert {c.astimezone(BERLIN).time() for c in calls} == {time(9, 0)}
    assert [c.astimezone(BERLIN).utcoffset().total_seconds() / 3600 for c in calls] == [
        1.0,
        1.0,
        2.0,
    ]


async def test_a_rotated_url_stops_at_once_and_feeds_are_per_user(
    http: httpx.AsyncClient,
) -> None:
    ada, bob = await sign_up(http), await sign_up(http)
    await create_contact(http, ada.token, firstName="Grace", birthday={"month": 12, "day": 9})
    first = await feed_url(http, ada.token)
    assert await feed_url(http, ada.token) == first  # the same URL until rotated
    assert b"Grace's birthday" in (await fetch(http, first)).content

    # Another user's feed shows none of Ada's contacts, and their rotation leaves hers alone.
    bobs = await feed_url(http, bob.token)
    assert bobs != first
    assert b"Grace" not in (await fetch(http, bobs)).content
    await data(http, ROTATE, token=bob.token)
    assert (await fetch(http, first)).status_code == 200

    rotated = (await data(http, ROTATE, token=ada.token))["rotateCalendarFeed"]["url"]
    assert rotated != first
    gone = await fetch(http, first)
    assert gone.status_code == 404
    assert "rotated" in gone.text
    assert b"Grace's birthday" in (await fetch(http, rotated)).content
    assert await feed_url(http, ada.token) == rotated

    assert (await http.get("/calendar/not-a-feed.ics")).status_code == 404
    # The feed's URL is only for its owner to see.
    body = await post(http, FEED)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
