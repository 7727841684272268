"""Rate limits: sign-in and sign-up attempts, and each signed-in user's requests.

Sign-in and sign-up are throttled in PostgreSQL (``store.ratelimits``), so the limits hold
whichever API process a request reaches; they are checked before any password is hashed, so
a refused attempt costs one upsert. A user's requests are counted in this process's memory:
with N processes behind a balancer a user gets up to N times ``RAPPORT_REQUEST_LIMIT``.

The client address is the ASGI client's; uvicorn replaces it with X-Forwarded-For's only
when the request comes from a proxy in ``RAPPORT_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.jsonlog import bind_owner
from api.settings import LimitSettings
from model.clock import Clock
from model.errors import RateLimited
from store import ratelimits

SIGN_IN_ACCOUNT = "sign-in-account"
SIGN_IN_ADDRESS = "sign-in-address"
SIGN_UP_ADDRESS = "sign-up-address"
# The key in memory is bounded: past this many users, those with a full allowance are dropped.
_MAX_KEYS = 100_000


@dataclass(frozen=True)
class Limit:
    """At most ``count`` in any ``period`` (as a burst, then one per ``period / count``)."""

    count: int
    period: timedelta


def to_seconds(wait: timedelta) -> int:
    """Return a wait as whole seconds for Retry-After: rounded up, at least one."""
    return max(1, math.ceil(wait.total_seconds()))


async def spend_steps(
    conn: AsyncConnection, steps: Iterable[tuple[str, str, Limit]]
) -> timedelta | None:
    """Spend one request from each (scope, key, limit) in order in the caller's transaction,
    stopping at the first that refuses: None if all let it in, else how long to wait."""
    for scope, key, limit in steps:
        wait = await ratelimits.take_request(
            conn, scope=scope, key=key, limit=limit.count, period=limit.period
        )
        if wait is not None:
            return wait
    return None


async def take_steps(engine: AsyncEngine, *steps: tuple[str, str, Limit]) -> None:
    """``spend_steps`` in a transaction of its own, then raise RateLimited with the wait."""
    async with engine.begin() as conn:
        wait = await spend_steps(conn, steps)
    # Refused after the commit: the steps before the refusing one keep their spent request,
    # because it was an attempt (raising inside the block would roll them back).
    if wait is not None:
        raise RateLimited(to_seconds(wait))


class Throttle:
    """The sign-in and sign-up limits, shared by every API process through PostgreSQL.

    They go by the database's clock, not the injected one (see ``store.ratelimits``).
    """

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        sign_in_account: Limit,
        sign_in_address: Limit,
        sign_up_address: Limit,
    ) -> None:
        self.engine = engine
        self.sign_in_account = sign_in_account
        self.sign_in_address = sign_in_address
        self.sign_up_address = sign_up_address

    async def admit_sign_in(self, *, email: str, address: str) -> None:
        """Count a sign-in attempt, or raise RateLimited; ``email`` is normalized."""
        await take_steps(
            self.engine,
            (SIGN_IN_ADDRESS, address, self.sign_in_address),
            (SIGN_IN_ACCOUNT, email, self.sign_in_account),
        )

    async def forget_sign_in(self, *, email: str) -> None:
        """Clear an account's attempts after it signed in: only failures in a row add up."""
        async with self.engine.begin() as conn:
            await ratelimits.forget_key(conn, scope=SIGN_IN_ACCOUNT, key=email)

    async def admit_sign_up(self, *, address: str) -> None:
        """Count a sign-up attempt, or raise RateLimited."""
        await take_steps(self.engine, (SIGN_UP_ADDRESS, address, self.sign_up_address))


class RequestRate:
    """The same GCRA as ``store.ratelimits``, in this process's memory."""

    def __init__(self, limit: Limit, clock: Clock) -> None:
        self.limit = limit
        self.clock = clock
        self._tat: dict[str, float] = {}

    def take(self, key: str) -> timedelta | None:
        """Spend one request of ``key``; None if let in, else how long to wait."""
        now = self.clock.now().timestamp()
        period = self.limit.period.total_seconds()
        interval = period / self.limit.count
        later = max(self._tat.get(key, now), now) + interval
        if later - now > period:
            return timedelta(seconds=later - period - now)
        if len(self._tat) >= _MAX_KEYS:
            self._tat = {k: tat for k, tat in self._tat.items() if tat > now}
        self._tat[key] = later
        return None


def too_many_requests(retry_after: int) -> JSONResponse:
    """Return the 429 answer, in GraphQL's error shape so clients read it like any error."""
    message = f"Too many requests; try again in {retry_after} seconds."
    body: dict[str, Any] = {
        "errors": [
            {"message": message, "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after}}
        ]
    }
    return JSONResponse(body, status_code=429, headers={"Retry-After": str(retry_after)})


class RequestGuard:
    """Answer 429 to a signed-in user over their request rate, before the operation runs."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        identify: Callable[[str | None], Awaitable[str | None]],
        rate: RequestRate,
    ) -> None:
        self.app = app
        # From an Authorization header to a user id, or None: no database query.
        self.identify = identify
        self.rate = rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            wait = await self._wait(Headers(scope=scope).get("authorization"))
            if wait is not None:
                await too_many_requests(to_seconds(wait))(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _wait(self, authorization: str | None) -> timedelta | None:
        # No user (signing in or up, or a bad token the operation will refuse): sign-in and
        # sign-up have their own limits, per address.
        user = await self.identify(authorization)
        bind_owner(user)  # the log lines of this request name the user, hashed (api/jsonlog.py)
        return None if user is None else self.rate.take(user)


def build_throttle(limits: LimitSettings, engine: AsyncEngine) -> Throttle:
    """Return the sign-in and sign-up limits the settings ask for."""
    sign_in = timedelta(seconds=limits.sign_in_period_seconds)
    sign_up = timedelta(seconds=limits.sign_up_period_seconds)
    return Throttle(
        engine=engine,
        sign_in_account=Limit(limits.sign_in_account_limit, sign_in),
        sign_in_address=Limit(limits.sign_in_address_limit, sign_in),
        sign_up_address=Limit(limits.sign_up_address_limit, sign_up),
    )


def guard_requests(
    app: ASGIApp,
    limits: LimitSettings,
    *,
    identify: Callable[[str | None], Awaitable[str | None]],
    clock: Clock,
) -> RequestGuard:
    """Wrap ``app`` in the per-user request rate the settings ask for."""
    limit = Limit(limits.request_limit, timedelta(seconds=limits.request_period_seconds))
    return RequestGuard(app, identify=identify, rate=RequestRate(limit, clock))
