"""The calendar feed: a secret per-user URL serving the user's dates as iCalendar.

The URL's secret is an HMAC of a random per-user ``feed_key`` under the server's signing key;
the database keeps the key and a SHA-256 digest of the secret (to find the feed), never the
secret. So ``calendarFeed`` can show the URL again, a database copy alone cannot open a feed,
and ``rotateCalendarFeed`` (a new ``feed_key``) stops the old URL at once: its digest is
no longer anywhere. Changing RAPPORT_SECRET_KEY changes every URL (``url`` re-keeps the
digest, so the new one works as soon as the user asks for it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from model.clock import Clock
from notifications.ics import build_calendar
from store import calendar

PATH = "/calendar/{secret}.ics"


class CalendarFeeds:
    def __init__(self, *, engine: AsyncEngine, clock: Clock, key: str, public_url: str) -> None:
        self.engine = engine
        self.clock = clock
        self._key = hashlib.sha256(f"rapport-calendar-feed:{key}".encode()).digest()
        self.public_url = public_url.rstrip("/")

    def _secret(self, feed_key: bytes) -> str:
        mac = hmac.new(self._key, feed_key, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def _url(self, secret: str) -> str:
        return f"{self.public_url}{PATH.format(secret=secret)}"

    async def url(self, *, user_id: UUID) -> str:
        """The user's feed URL; the first ask creates it."""
        feed_key = secrets.token_bytes(16)
        secret = self._secret(feed_key)
        async with self.engine.begin() as conn:
            feed = await calendar.get_feed(conn, user_id=user_id)
            if feed is None:
                feed = await calendar.put_feed(
                    conn,
                    user_id=user_id,
                    feed_key=feed_key,
                    secret_hash=_digest(secret),
                    now=self.clock.now(),
                    replace=False,
                )
            secret = self._secret(feed["feed_key"])
            if feed["secret_hash"] != _digest(secret):
                # The server's key changed since: the URL did too.
                await calendar.set_secret_hash(conn, user_id=user_id, secret_hash=_digest(secret))
        return self._url(secret)

    async def rotate(self, *, user_id: UUID) -> str:
        """Give the user a new feed URL; the old one stops working at once."""
        feed_key = secrets.token_bytes(16)
        secret = self._secret(feed_key)
        async with self.engine.begin() as conn:
            await calendar.put_feed(
                conn,
                user_id=user_id,
                feed_key=feed_key,
                secret_hash=_digest(secret),
                now=self.clock.now(),
                replace=True,
            )
        return self._url(secret)

    async def render(self, secret: str) -> bytes | None:
        """The iCalendar text of the feed ``secret`` opens; None if it opens none."""
        async with self.engine.connect() as conn:
            owner_id = await calendar.find_feed_owner(conn, secret_hash=_digest(secret))
            if owner_id is None:
                return None
            time_zone, contacts, reminders = await calendar.load_calendar_rows(
                conn, owner_id=owner_id
            )
        return build_calendar(
            time_zone=time_zone, contacts=contacts, reminders=reminders, now=self.clock.now()
        )

    async def endpoint(self, request: Request) -> Response:
        body = await self.render(request.path_params["secret"])
        if body is None:
            return PlainTextResponse(
                "No calendar feed has this URL (it was rotated, or never was); "
                "ask the app for the current one.",
                status_code=404,
            )
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={
                # The URL is the secret: keep it out of shared caches and referrers.
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "Content-Disposition": 'inline; filename="rapport.ics"',
            },
        )

    def routes(self) -> list[Route]:
        return [Route(PATH, self.endpoint, methods=["GET", "HEAD"])]


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()
