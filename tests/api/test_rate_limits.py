"""Rate limits over HTTP: sign-in per account and address, sign-up per address, request rate."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from argon2 import PasswordHasher, profiles
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from api.app import create_app
from model.clock import FixedClock
from tests.api.graphql import SIGN_UP, data, post, sign_up
from tests.api.test_metrics import grown, scrape
from tests.conftest import make_settings, serve
from tests.integration.test_ratelimits import pass_time

SIGN_IN = """
mutation($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) {
    __typename
    ... on AuthPayload { accessToken }
    ... on InvalidCredentials { message }
    ... on RateLimited { message retryAfter }
  }
}
"""
SIGN_UP_LIMITED = SIGN_UP.replace(
    "... on Conflict { message }",
    "... on Conflict { message }\n    ... on RateLimited { retryAfter }",
)
ME = "{ me { id } }"
# Generous limits for whatever a test does not exercise.
ROOMY = {
    "sign_in_account_limit": 1000,
    "sign_in_address_limit": 1000,
    "sign_up_address_limit": 1000,
    "request_limit": 1000,
}


class CountingHasher(PasswordHasher):
    """argon2, counting the verifications: a refused attempt must not reach one."""

    verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        CountingHasher.verified += 1
        return super().verify(hash, password)


def build_app(tmp_path: Path, db_url: str, clock: FixedClock, **limits: Any) -> Starlette:
    app = create_app(
        make_settings(tmp_path, limits={**ROOMY, **limits}), database_url=db_url, clock=clock
    )
    app.state.authenticator._hasher = CountingHasher.from_parameters(profiles.CHEAPEST)
    return app


@asynccontextmanager
async def client_of(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


def from_address(address: str) -> dict[str, str]:
    # serve() runs uvicorn with its default trusted proxy, 127.0.0.1: the tests' own address.
    return {"X-Forwarded-For": address}


async def sign_in(
    http: httpx.AsyncClient, email: str, password: str, address: str = "192.0.2.1"
) -> dict[str, Any]:
    body = await post(
        http, SIGN_IN, {"email": email, "password": password}, headers=from_address(address)
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["signIn"]
    return result


async def sign_up_from(http: httpx.AsyncClient, address: str, email: str) -> dict[str, Any]:
    variables = {"input": {"email": email, "password": "correct horse battery", "timeZone": "UTC"}}
    body = await post(http, SIGN_UP_LIMITED, variables, headers=from_address(address))
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["signUp"]
    return result


async def test_the_sign_in_limit_holds_across_two_api_processes(
    tmp_path: Path, db_url: str, engine: AsyncEngine
) -> None:
    clock = FixedClock(datetime.now(UTC))
    one = build_app(tmp_path, db_url, clock, sign_in_account_limit=4)
    two = build_app(tmp_path, db_url, clock, sign_in_account_limit=4)
    async with client_of(one) as first, client_of(two) as second:
        account = await sign_up(first)
        for attempt in range(4):
            http = first if attempt % 2 == 0 else second
            result = await sign_in(http, account.email, "wrong password")
            assert result["__typename"] == "InvalidCredentials", (attempt, result)
        verified = CountingHasher.verified

        refused = await sign_in(first, account.email, "wrong password")
        assert refused["__typename"] == "RateLimited"
        assert refused["retryAfter"] > 0
        # Even the right password waits, on either process, and costs no argon2 time.
        right = await sign_in(second, account.email, account.password)
        assert right["__typename"] == "RateLimited"
        assert CountingHasher.verified == verified

        await pass_time(engine, timedelta(seconds=right["retryAfter"]))
        assert (await sign_in(second, account.email, account.password))["__typename"] == (
            "AuthPayload"
        )
        # Signing in cleared the failures: four wrong passwords in a row are answered again.
        for _ in range(4):
            result = await sign_in(first, account.email, "wrong password")
            assert result["__typename"] == "InvalidCredentials"


async def test_an_unknown_email_is_answered_and_limited_like_a_wrong_password(
    tmp_path: Path, db_url: str
) -> None:
    clock = FixedClock(datetime.now(UTC))
    async with client_of(build_app(tmp_path, db_url, clock, sign_in_account_limit=2)) as http:
        account = await sign_up(http)
        unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        answers = []
        for email in (account.email, unknown):
            before = CountingHasher.verified
            answers.append([await sign_in(http, email, "wrong password") for _ in range(3)])
            # An unknown email pays for a hash too (a decoy), so it answers as slowly.
            assert CountingHasher.verified == before + 2
        known, nobody = answers
        assert known == nobody
        assert [a["__typename"] for a in known] == [
            "InvalidCredentials",
            "InvalidCredentials",
            "RateLimited",
        ]


async def test_sign_in_is_limited_per_client_address(tmp_path: Path, db_url: str) -> None:
    clock = FixedClock(datetime.now(UTC))
    async with client_of(build_app(tmp_path, db_url, clock, sign_in_address_limit=3)) as http:
        emails = [f"guess-{n}@example.com" for n in range(4)]
        for email in emails[:3]:
            result = await sign_in(http, email, "wrong password", address="198.51.100.7")
            assert result["__typename"] == "InvalidCredentials"
        refused = await sign_in(http, emails[3], "wrong password", address="198.51.100.7")
        assert refused["__typename"] == "RateLimited"
        # 900 s for 3 attempts: one more every 300 s. The allowance runs on the database's
        # clock, which moves while the requests are hashed, so a slow machine may see 299.
        assert 290 <= refused["retryAfter"] <= 300
        elsewhere = await sign_in(http, emails[3], "wrong password", address="198.51.100.8")
        assert elsewhere["__typename"] == "InvalidCredentials"


async def test_an_attempt_refused_for_its_account_still_counts_for_its_address(
    tmp_path: Path, db_url: str
) -> None:
    clock = FixedClock(datetime.now(UTC))
    app = build_app(tmp_path, db_url, clock, sign_in_account_limit=1, sign_in_address_limit=2)
    async with client_of(app) as http:
        address = "198.51.100.23"
        first, other = (f"{name}-{uuid.uuid4().hex[:8]}@example.com" for name in ("a", "b"))
        assert (await sign_in(http, first, "wrong", address=address))["__typename"] == (
            "InvalidCredentials"
        )
        # Refused by the account's limit; the address spent its second attempt all the same.
        assert (await sign_in(http, first, "wrong", address=address))["__typename"] == (
            "RateLimited"
        )
        refused = await sign_in(http, other, "wrong", address=address)
        assert refused["__typename"] == "RateLimited"


async def test_sign_up_is_limited_per_address_and_a_taken_email_counts(
    tmp_path: Path, db_url: str
) -> None:
    clock = FixedClock(datetime.now(UTC))
    async with client_of(build_app(tmp_path, db_url, clock, sign_up_address_limit=3)) as http:
        email = f"taken-{uuid.uuid4().hex[:8]}@example.com"
        assert (await sign_up_from(http, "203.0.113.5", email))["__typename"] == "AuthPayload"
        # A taken email says so (Conflict), but every probe spends the address's allowance.
        taken = await sign_up_from(http, "203.0.113.5", email)
        assert taken["__typename"] == "Conflict"
        assert "already exists" in taken["message"]
        other = f"other-{uuid.uuid4().hex[:8]}@example.com"
        assert (await sign_up_from(http, "203.0.113.5", other))["__typename"] == "AuthPayload"
        refused = await sign_up_from(http, "203.0.113.5", f"x{other}")
        assert refused["__typename"] == "RateLimited"
        # One hour for 3 sign-ups: one more every 1200 s, less the time the test itself took.
        assert 1190 <= refused["retryAfter"] <= 1200
        fresh = await sign_up_from(http, "203.0.113.6", f"x{other}")
        assert fresh["__typename"] == "AuthPayload"


async def test_a_user_over_the_request_rate_gets_429_with_retry_after(
    tmp_path: Path, db_url: str
) -> None:
    clock = FixedClock(datetime.now(UTC))
    app = build_app(tmp_path, db_url, clock, request_limit=3, request_period_seconds=60)
    async with client_of(app) as http:
        busy, calm = await sign_up(http), await sign_up(http)
        # A forged token naming the busy user spends nothing of theirs.
        forged = jwt.encode({"iss": "rapport", "sub": busy.user_id}, "not-the-key-" * 4)
        for _ in range(5):
            body = await post(http, ME, token=forged)
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        for _ in range(3):
            await data(http, ME, token=busy.token)
        before = await scrape(http)
        response = await http.post(
            "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {busy.token}"}
        )
        assert response.status_code == 429
        # Refused before any operation ran: counted by status (GET /metrics).
        errors = "rapport_http_errors_total"
        assert grown(before, await scrape(http), errors, route="/graphql", status="429") == 1
        assert response.headers["retry-after"] == "20"
        assert response.headers["content-type"] == "application/json"
        error = response.json()["errors"][0]
        assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 20}
        assert "try again in 20 seconds" in error["message"]
        # Others are not held up, and the busy user is let in once the wait is over.
        assert (await data(http, ME, token=calm.token))["me"]["id"] == calm.user_id
        clock.at += timedelta(seconds=20)
        assert (await data(http, ME, token=busy.token))["me"]["id"] == busy.user_id
