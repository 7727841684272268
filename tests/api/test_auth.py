"""Accounts over HTTP: sign-up, sign-in, refresh rotation, sign-out, and refused tokens."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.app import create_app
from model.clock import FixedClock
from tests.api.graphql import SIGN_UP, data, post, sign_up
from tests.conftest import make_settings, serve

ME = "{ me { id email displayName timeZone reminderHour dailyDigest sentimentEnabled } }"
SIGN_IN = """
mutation($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) {
    __typename
    ... on AuthPayload { accessToken refreshToken user { id } }
    ... on InvalidCredentials { message }
  }
}
"""
REFRESH = """
mutation($token: String!) {
  refreshSession(refreshToken: $token) {
    __typename
    ... on AuthPayload { accessToken refreshToken }
    ... on InvalidCredentials { message }
  }
}
"""


def error_code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def test_sign_up_returns_tokens_that_work(http: httpx.AsyncClient) -> None:
    account = await sign_up(http, time_zone="Asia/Kolkata")
    me = (await data(http, ME, token=account.token))["me"]
    assert me["id"] == account.user_id
    assert me["email"] == account.email
    assert me["timeZone"] == "Asia/Kolkata"


async def test_signing_up_twice_with_one_email_is_a_conflict(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    again = {"email": account.email.upper(), "password": "another long password"}
    result = (await data(http, SIGN_UP, {"input": again}))["signUp"]
    assert result["__typename"] == "Conflict"
    assert "already exists" in result["message"]


async def test_sign_up_explains_each_bad_field(http: httpx.AsyncClient) -> None:
    bad = {"email": "not-an-email", "password": "short", "timeZone": "Moon/Base"}
    result = (await data(http, SIGN_UP, {"input": bad}))["signUp"]
    assert result["__typename"] == "ValidationError"
    assert {f["field"] for f in result["fields"]} == {"email", "password", "timeZone"}


async def test_sign_up_quotes_a_huge_malformed_email_only_in_part(http: httpx.AsyncClient) -> None:
    bad = {"email": "a" * 100_000, "password": "a long enough password"}
    result = (await data(http, SIGN_UP, {"input": bad}))["signUp"]
    assert result["__typename"] == "ValidationError"
    # The answer need not carry the 100,000 characters back; the same quoting as a reset's.
    assert result["fields"] == [
        {
            "field": "email",
            "message": f"'{'a' * 77}...' is not an email address like ada@example.com",
        }
    ]


async def test_sign_in_checks_the_password(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    wrong = await data(http, SIGN_IN, {"email": account.email, "password": "wrong password!"})
    assert wrong["signIn"]["__typename"] == "InvalidCredentials"
    unknown = await data(http, SIGN_IN, {"email": "nobody@example.com", "password": "whatever12"})
    assert unknown["signIn"]["__typename"] == "InvalidCredentials"
    right = await data(http, SIGN_IN, {"email": account.email, "password": account.password})
    assert right["signIn"]["user"]["id"] == account.user_id


async def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    first = (await data(http, REFRESH, {"token": account.refresh_token}))["refreshSession"]
    assert first["__typename"] == "AuthPayload"
    assert first["refreshToken"] != account.refresh_token
    # The old refresh token was spent; presenting it again means a copy leaked.
    replay = (await data(http, REFRESH, {"token": account.refresh_token}))["refreshSession"]
    assert replay["__typename"] == "InvalidCredentials"
    # ... so the whole session ends: the new pair stops working too.
    after = (await data(http, REFRESH, {"token": first["refreshToken"]}))["refreshSession"]
    assert after["__typename"] == "InvalidCredentials"
    assert error_code(await post(http, ME, token=first["accessToken"])) == "UNAUTHENTICATED"


async def test_sign_out_revokes_access_and_refresh_tokens(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    assert (await data(http, "mutation { signOut { ok } }", token=account.token))["signOut"]["ok"]
    body = await post(http, ME, token=account.token)
    assert error_code(body) == "UNAUTHENTICATED"
    assert "session has ended" in body["errors"][0]["message"]
    refreshed = (await data(http, REFRESH, {"token": account.refresh_token}))["refreshSession"]
    assert refreshed["__typename"] == "InvalidCredentials"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Sign in first"),
        ("Basic abc", "Bearer"),
        ("Bearer not.a.jwt", "malformed"),
    ],
)
async def test_missing_or_malformed_tokens_are_unauthenticated(
    http: httpx.AsyncClient, header: str | None, message: str
) -> None:
    headers = {} if header is None else {"Authorization": header}
    body = await post(http, ME, headers=headers)
    assert body["data"] is None
    assert error_code(body) == "UNAUTHENTICATED"
    assert message in body["errors"][0]["message"]


async def test_a_tampered_token_is_refused(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    claims = jwt.decode(account.token, options={"verify_signature": False})
    claims["sub"] = "00000000-0000-0000-0000-000000000000"
    forged = jwt.encode(claims, "a guessed key that is long enough for hs256", algorithm="HS256")
    body = await post(http, ME, token=forged)
    assert error_code(body) == "UNAUTHENTICATED"
    assert "not valid" in body["errors"][0]["message"]


async def test_an_expired_token_says_to_refresh(tmp_path: Path, api_db: str) -> None:
    clock = FixedClock(datetime.now(UTC))
    app = create_app(make_settings(tmp_path), database_url=api_db, clock=clock)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        account = await sign_up(client)
        assert (await data(client, ME, token=account.token))["me"]["id"] == account.user_id
        clock.at += timedelta(minutes=16)
        body = await post(client, ME, token=account.token)
        assert error_code(body) == "UNAUTHENTICATED"
        assert "expired" in body["errors"][0]["message"]
        fresh = (await data(client, REFRESH, {"token": account.refresh_token}))["refreshSession"]
        assert (await data(client, ME, token=fresh["accessToken"]))["me"]["id"] == account.user_id


async def test_a_session_ended_by_another_process_is_refused_within_the_recheck_window(
    tmp_path: Path, api_db: str
) -> None:
    clock = FixedClock(datetime.now(UTC))
    app = create_app(make_settings(tmp_path), database_url=api_db, clock=clock)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        account = await sign_up(client)
        assert (await data(client, ME, token=account.token))["me"]["id"] == account.user_id
        # Another API process signs the session out: only the database knows.
        other = create_app(make_settings(tmp_path), database_url=api_db, clock=clock)
        async with serve(other) as other_url, httpx.AsyncClient(base_url=other_url) as elsewhere:
            signed_out = await data(elsewhere, "mutation { signOut { ok } }", token=account.token)
            assert signed_out["signOut"]["ok"] is True
        # This process trusted the session a moment ago and still does, briefly...
        clock.at += timedelta(seconds=2)
        assert (await data(client, ME, token=account.token))["me"]["id"] == account.user_id
        # ... and asks the database again once the recheck window has passed.
        clock.at += timedelta(seconds=4)
        body = await post(client, ME, token=account.token)
        assert error_code(body) == "UNAUTHENTICATED"
        assert "session has ended" in body["errors"][0]["message"]


UPDATE_ME = """
mutation($input: UpdateMeInput!) {
  updateMe(input: $input) {
    __typename
    ... on User { displayName timeZone reminderHour quietHoursStart quietHoursEnd dailyDigest sentimentEnabled }
    ... on ValidationError { message fields { field message } }
  }
}
"""


async def test_update_me_changes_only_what_is_sent(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    first = {"displayName": "Ada", "timeZone": "America/St_Johns", "reminderHour": 8}
    result = (await data(http, UPDATE_ME, {"input": first}, account.token))["updateMe"]
    assert result["timeZone"] == "America/St_Johns"
    second = {"quietHoursStart": "22:00:00", "quietHoursEnd": "07:00:00", "dailyDigest": True}
    result = (await data(http, UPDATE_ME, {"input": second}, account.token))["updateMe"]
    assert result == {
        "__typename": "User",
        "displayName": "Ada",
        "timeZone": "America/St_Johns",
        "reminderHour": 8,
        "quietHoursStart": "22:00:00",
        "quietHoursEnd": "07:00:00",
        "dailyDigest": True,
        "sentimentEnabled": True,
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"timeZone": "Europe/Atlantis"}, "timeZone"),
        ({"reminderHour": 25}, "reminderHour"),
        ({"quietHoursStart": "22:00:00"}, "quietHoursEnd"),
        ({"quietHoursStart": "07:00:00", "quietHoursEnd": "07:00:00"}, "quietHoursEnd"),
        ({"displayName": "x" * 10_000}, "displayName"),
    ],
)
async def test_update_me_refuses_bad_values_and_changes_nothing(
    http: httpx.AsyncClient, values: dict[str, Any], field: str
) -> None:
    account = await sign_up(http)
    before = (await data(http, ME, token=account.token))["me"]
    result = await data(http, UPDATE_ME, {"input": {"dailyDigest": True, **values}}, account.token)
    assert result["updateMe"]["__typename"] == "ValidationError"
    assert field in {f["field"] for f in result["updateMe"]["fields"]}
    assert (await data(http, ME, token=account.token))["me"] == before


# Firebase ID tokens: minted here, verified by firebase-admin against a local certificate endpoint.

PROJECT = "rapport-test"


def _key_and_cert() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def _id_token(key: rsa.RSAPrivateKey, uid: str, *, project: str = PROJECT, **extra: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "auth_time": now - 60,
        "sub": uid,
        "iat": now - 10,
        "exp": now + 3600,
        **extra,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test-key"})


async def test_firebase_id_tokens_sign_users_in_and_create_them_once(
    tmp_path: Path, api_db: str
) -> None:
    key, cert = _key_and_cert()

    async def certs(request: Request) -> Response:
        return JSONResponse({"test-key": cert}, headers={"Cache-Control": "max-age=60"})

    cert_app = Starlette(routes=[Route("/certs", certs)])
    async with serve(cert_app) as cert_url:
        settings = make_settings(
            tmp_path,
            auth={"firebase_project_id": PROJECT, "firebase_cert_url": f"{cert_url}/certs"},
        )
        app = create_app(settings, database_url=api_db)
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            token = _id_token(key, "firebase-uid-1", email="fb@example.com", name="Fire Base")
            first = (await data(client, ME, token=token))["me"]
            again = (await data(client, ME, token=token))["me"]
            assert first["id"] == again["id"]
            assert first["email"] == "fb@example.com"
            assert first["displayName"] == "Fire Base"

            other_project = _id_token(key, "firebase-uid-1", project="someone-else")
            body = await post(client, ME, token=other_project)
            assert error_code(body) == "UNAUTHENTICATED"
            assert "Firebase" in body["errors"][0]["message"]

            stranger, _ = _key_and_cert()
            body = await post(client, ME, token=_id_token(stranger, "firebase-uid-2"))
            assert error_code(body) == "UNAUTHENTICATED"

            # Local accounts keep working beside Firebase.
            local = await sign_up(client)
            assert (await data(client, ME, token=local.token))["me"]["id"] == local.user_id


async def test_firebase_emails_are_lower_cased_and_verified_only_when_firebase_says_so(
    tmp_path: Path, api_db: str
) -> None:
    key, cert = _key_and_cert()

    async def certs(request: Request) -> Response:
        return JSONResponse({"test-key": cert}, headers={"Cache-Control": "max-age=60"})

    me = "{ me { email emailVerified } }"
    cert_app = Starlette(routes=[Route("/certs", certs)])
    async with serve(cert_app) as cert_url:
        settings = make_settings(
            tmp_path,
            auth={"firebase_project_id": PROJECT, "firebase_cert_url": f"{cert_url}/certs"},
        )
        app = create_app(settings, database_url=api_db)
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            uid = f"fb-{uuid.uuid4().hex[:8]}"
            address = f" {uid.upper()}@Example.COM "
            unproven = _id_token(key, uid, email=address, email_verified=False)
            expected = f"{uid}@example.com"
            assert (await data(client, me, token=unproven))["me"] == {
                "email": expected,
                "emailVerified": False,
            }
            # Verified in Firebase later: the next request with such a token marks it.
            proven = _id_token(key, uid, email=address, email_verified=True)
            assert (await data(client, me, token=proven))["me"] == {
                "email": expected,
                "emailVerified": True,
            }
            other = f"fb-{uuid.uuid4().hex[:8]}"
            first = _id_token(key, other, email=f"{other}@example.com", email_verified=True)
            assert (await data(client, me, token=first))["me"]["emailVerified"] is True
