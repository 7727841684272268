"""Account self-service over HTTP: deleting an account, changing the password, sessions.

Deletion is checked against PostgreSQL's catalog, not a list of tables kept here: every
table of the schema with an owner column must be empty of the deleted user, and every table
must be reached from ``users`` by ON DELETE CASCADE keys, so a table added later is covered.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.app import create_app
from tests.api.graphql import Account, create_contact, data, post, sign_up
from tests.api.test_auth import PROJECT, _id_token, _key_and_cert
from tests.api.test_isolation import make_world
from tests.conftest import make_settings, serve

DELETE = """
mutation($p: String!) {
  deleteAccount(input: {password: $p}) {
    __typename
    ... on AccountDeleted { ok }
    ... on InvalidCredentials { message }
  }
}
"""
CHANGE = """
mutation($c: String!, $n: String!) {
  changePassword(input: {currentPassword: $c, newPassword: $n}) {
    __typename
    ... on PasswordChanged { endedSessions }
    ... on ValidationError { fields { field message } }
    ... on InvalidCredentials { message }
  }
}
"""
SIGN_IN = """
mutation($e: String!, $p: String!) {
  signIn(input: {email: $e, password: $p}) {
    __typename
    ... on AuthPayload { accessToken refreshToken }
  }
}
"""
REFRESH = "mutation($t: String!) { refreshSession(refreshToken: $t) { __typename } }"
SESSIONS = "{ sessions { id createdAt expiresAt current } }"
REVOKE = """
mutation($id: ID!) {
  revokeSession(id: $id) {
    __typename
    ... on SessionRevoked { id }
    ... on NotFound { entity id }
  }
}
"""
ME = "{ me { id } }"
# Tables that hold no user's rows: the user row itself is checked by id, rate-limit rows
# are keyed by digests of emails and addresses and expire within minutes.
UNOWNED = {"users", "alembic_version", "rate_limits"}


async def owner_columns(conn: AsyncConnection) -> list[tuple[str, str]]:
    """Every (table, column) of the app's schema naming a user: owner_id or user_id."""
    rows = await conn.execute(
        sa.text(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
            " AND column_name IN ('owner_id', 'user_id')"
            " ORDER BY table_name"
        )
    )
    return [(row.table_name, row.column_name) for row in rows]


async def rows_of(engine: AsyncEngine, user_id: str) -> dict[str, int]:
    """How many rows of the user each owner-column table holds, and the user row itself."""
    counts: dict[str, int] = {}
    async with engine.connect() as conn:
        for table, column in await owner_columns(conn):
            count = await conn.scalar(
                sa.text(f'SELECT count(*) FROM "{table}" WHERE "{column}" = :u'),
                {"u": UUID(user_id)},
            )
            counts[table] = int(count or 0)
        users = await conn.scalar(
            sa.text("SELECT count(*) FROM users WHERE id = :u"), {"u": UUID(user_id)}
        )
        counts["users"] = int(users or 0)
    return counts


async def test_every_table_is_deleted_with_its_user(engine: AsyncEngine) -> None:
    """Each table is owned (cascades from users) or on the short list of unowned ones."""
    async with engine.connect() as conn:
        tables = set(
            (
                await conn.scalars(
                    sa.text(
                        "SELECT c.relname FROM pg_class c"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
                    )
                )
            ).all()
        )
        # (table, the table it references) for every ON DELETE CASCADE foreign key.
        cascades = (
            await conn.execute(
                sa.text(
                    "SELECT con.conrelid::regclass::text AS child,"
                    " con.confrelid::regclass::text AS parent"
                    " FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace"
                    " WHERE con.contype = 'f' AND con.confdeltype = 'c'"
                    " AND n.nspname = current_schema()"
                )
            )
        ).all()
    reached = {"users"}
    while True:
        more = {child for child, parent in cascades if parent in reached} - reached
        if not more:
            break
        reached |= more
    assert tables - reached <= UNOWNED, f"not deleted with their user: {tables - reached}"
    assert len(reached) > 15  # the catalog query found the schema, not nothing


async def test_delete_account_removes_every_row_of_the_user(
    http: httpx.AsyncClient, api_app: Starlette
) -> None:
    world = await make_world(http, api_app)
    alice, bob = world.alice, world.bob
    engine: AsyncEngine = api_app.state.engine
    before = await rows_of(engine, alice.user_id)
    bob_before = await rows_of(engine, bob.user_id)
    # The world gave Alice rows in many tables, so their absence afterwards means something.
    owned = {table for table, count in before.items() if count}
    assert {"contacts", "interactions", "devices", "auth_sessions", "sync_clients"} <= owned
    assert {"scheduled_notifications", "notification_deliveries", "tags", "events"} <= owned
    async with engine.connect() as conn:
        session_ids = (
            await conn.scalars(
                sa.text("SELECT id FROM auth_sessions WHERE user_id = :u"),
                {"u": UUID(alice.user_id)},
            )
        ).all()

    wrong = (await data(http, DELETE, {"p": "not the password"}, alice.token))["deleteAccount"]
    assert wrong["__typename"] == "InvalidCredentials"
    assert await rows_of(engine, alice.user_id) == before  # nothing deleted

    done = (await data(http, DELETE, {"p": alice.password}, alice.token))["deleteAccount"]
    assert done == {"__typename": "AccountDeleted", "ok": True}

    left = await rows_of(engine, alice.user_id)
    assert not any(left.values()), left
    async with engine.connect() as conn:
        tokens = await conn.scalar(
            sa.text("SELECT count(*) FROM refresh_tokens WHERE session_id = ANY(:s)"),
            {"s": list(session_ids)},
        )
    assert tokens == 0
    assert await rows_of(engine, bob.user_id) == bob_before

    refused = await post(http, ME, token=alice.token)
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    refresh = await data(http, REFRESH, {"t": alice.refresh_token})
    assert refresh["refreshSession"]["__typename"] == "InvalidCredentials"
    sign_in = await data(http, SIGN_IN, {"e": alice.email, "p": alice.password})
    assert sign_in["signIn"]["__typename"] == "InvalidCredentials"
    assert (await data(http, ME, token=bob.token))["me"]["id"] == bob.user_id


async def second_session(http: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    result: dict[str, Any] = (
        await data(http, SIGN_IN, {"e": account.email, "p": account.password})
    )["signIn"]
    assert result["__typename"] == "AuthPayload"
    return result


async def test_change_password_ends_the_other_sessions_only(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    other = await second_session(http, account)
    new = "a brand new long password"

    wrong = await data(http, CHANGE, {"c": "not the password", "n": new}, account.token)
    assert wrong["changePassword"]["__typename"] == "InvalidCredentials"
    weak = await data(http, CHANGE, {"c": account.password, "n": "short"}, account.token)
    assert weak["changePassword"]["__typename"] == "ValidationError"
    assert weak["changePassword"]["fields"][0]["field"] == "newPassword"
    # Neither attempt changed anything: the other session still works.
    assert (await data(http, ME, token=other["accessToken"]))["me"]["id"] == account.user_id

    changed = await data(http, CHANGE, {"c": account.password, "n": new}, account.token)
    assert changed["changePassword"] == {"__typename": "PasswordChanged", "endedSessions": 1}
    assert (await data(http, ME, token=account.token))["me"]["id"] == account.user_id
    ended = await post(http, ME, token=other["accessToken"])
    assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    stale = await data(http, REFRESH, {"t": other["refreshToken"]})
    assert stale["refreshSession"]["__typename"] == "InvalidCredentials"
    old = await data(http, SIGN_IN, {"e": account.email, "p": account.password})
    assert old["signIn"]["__typename"] == "InvalidCredentials"
    again = await data(http, SIGN_IN, {"e": account.email, "p": new})
    assert again["signIn"]["__typename"] == "AuthPayload"
    # The session that changed the password keeps refreshing.
    kept = await data(http, REFRESH, {"t": account.refresh_token})
    assert kept["refreshSession"]["__typename"] == "AuthPayload"


async def test_sessions_lists_and_revokes_the_viewers_own(http: httpx.AsyncClient) -> None:
    account, stranger = await sign_up(http), await sign_up(http)
    other = await second_session(http, account)
    listed = (await data(http, SESSIONS, token=account.token))["sessions"]
    assert len(listed) == 2
    assert [s["current"] for s in listed] == [False, True]  # newest first: the second sign-in
    other_id = listed[0]["id"]

    theirs = (await data(http, SESSIONS, token=stranger.token))["sessions"]
    assert len(theirs) == 1
    foreign = await data(http, REVOKE, {"id": theirs[0]["id"]}, account.token)
    assert foreign["revokeSession"]["__typename"] == "NotFound"
    unknown = await data(
        http, REVOKE, {"id": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f"}, account.token
    )
    assert unknown["revokeSession"] == {
        "__typename": "NotFound",
        "entity": "Session",
        "id": "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f",
    }
    assert (await data(http, ME, token=stranger.token))["me"]["id"] == stranger.user_id

    revoked = await data(http, REVOKE, {"id": other_id}, account.token)
    assert revoked["revokeSession"] == {"__typename": "SessionRevoked", "id": other_id}
    ended = await post(http, ME, token=other["accessToken"])
    assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    remaining = (await data(http, SESSIONS, token=account.token))["sessions"]
    assert [s["current"] for s in remaining] == [True]
    twice = await data(http, REVOKE, {"id": other_id}, account.token)
    assert twice["revokeSession"]["__typename"] == "NotFound"


FIREBASE_DELETE = """
mutation($t: String, $p: String) {
  deleteAccount(input: {firebaseIdToken: $t, password: $p}) {
    __typename
    ... on InvalidCredentials { message }
  }
}
"""


async def test_a_firebase_account_is_deleted_with_a_fresh_firebase_token(
    tmp_path: Path, api_db: str
) -> None:
    key, cert = _key_and_cert()

    async def certs(request: Request) -> Response:
        return JSONResponse({"test-key": cert}, headers={"Cache-Control": "max-age=60"})

    async with serve(Starlette(routes=[Route("/certs", certs)])) as cert_url:
        settings = make_settings(
            tmp_path,
            auth={"firebase_project_id": PROJECT, "firebase_cert_url": f"{cert_url}/certs"},
        )
        app = create_app(settings, database_url=api_db)
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            token = _id_token(key, "firebase-deleter", email="gone@example.com")
            user_id = (await data(client, ME, token=token))["me"]["id"]
            await create_contact(client, token, firstName="Kept until the end")
            other = _id_token(key, "firebase-bystander")
            other_id = (await data(client, ME, token=other))["me"]["id"]
            engine: AsyncEngine = app.state.engine
            assert (await rows_of(engine, user_id))["contacts"] == 1

            stale = _id_token(key, "firebase-deleter", auth_time=int(time.time()) - 3600)
            refusals = [
                {"t": stale, "p": None},  # signed in an hour ago
                {"t": other, "p": None},  # someone else's token
                {"t": None, "p": "no password here"},  # Firebase accounts have none
                {"t": None, "p": None},
            ]
            for variables in refusals:
                result = (await data(client, FIREBASE_DELETE, variables, token))["deleteAccount"]
                assert result["__typename"] == "InvalidCredentials", (variables, result)
            assert (await rows_of(engine, user_id))["contacts"] == 1

            done = await data(client, FIREBASE_DELETE, {"t": token, "p": None}, token)
            assert done["deleteAccount"]["__typename"] == "AccountDeleted"
            left = await rows_of(engine, user_id)
            assert not any(left.values()), left
            assert (await data(client, ME, token=other))["me"]["id"] == other_id
