"""Password reset by email and changeEmail, over HTTP, with a real SMTP server.

The app sends through aiosmtplib to an aiosmtpd server this module starts; the tests read the
links from the emails it received, as a user would.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import re
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.app import create_app
from tests.api.graphql import confirm_email, data, post, sign_up
from tests.api.test_account import CHANGE as CHANGE_PASSWORD
from tests.api.test_auth import PROJECT, _id_token, _key_and_cert
from tests.conftest import cloned_database, free_port, make_settings, serve

REQUEST = """
mutation($e: String!) {
  requestPasswordReset(email: $e) {
    __typename
    ... on PasswordResetRequested { message }
    ... on ValidationError { fields { field message } }
    ... on RateLimited { retryAfter }
  }
}
"""
RESET = """
mutation($t: String!, $p: String!) {
  resetPassword(input: {token: $t, newPassword: $p}) {
    __typename
    ... on PasswordResetDone { endedSessions }
    ... on ValidationError { fields { field message } }
    ... on InvalidCredentials { message }
    ... on RateLimited { retryAfter }
  }
}
"""
CHANGE_EMAIL = """
mutation($e: String!, $p: String!) {
  changeEmail(input: {newEmail: $e, password: $p}) {
    __typename
    ... on EmailChangeRequested { pendingEmail expiresAt }
    ... on ValidationError { fields { field message } }
    ... on InvalidCredentials { message }
    ... on Conflict { message }
    ... on RateLimited { retryAfter }
  }
}
"""
CONFIRM = """
mutation($t: String!) {
  confirmEmailChange(token: $t) {
    __typename
    ... on EmailChanged { email }
    ... on InvalidCredentials { message }
    ... on Conflict { message }
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
ME = "{ me { id email } }"
VERIFY_SUBJECT = "Confirm your Rapport email"
NEW_PASSWORD = "a brand new passphrase"


class Inbox:
    """An aiosmtpd handler keeping every message it is handed."""

    def __init__(self) -> None:
        self.port = free_port()
        self._messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
        return "250 Message accepted"

    def to(self, address: str, *, verification: bool = False) -> list[EmailMessage]:
        """The messages to ``address``; those verifying it (sent at sign-up) only if asked."""
        with self._lock:
            return [
                m
                for m in self._messages
                if m["To"] == address and (m["Subject"] == VERIFY_SUBJECT) == verification
            ]

    async def wait_for(self, address: str, count: int = 1) -> list[EmailMessage]:
        """The first ``count`` messages to ``address``, once they arrived (sent in background)."""
        for _ in range(1000):
            found = self.to(address)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)
        raise AssertionError(f"no email to {address} arrived; got {self.to(address)}")


def link_token(message: EmailMessage, page: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    found = re.search(rf"https://app\.example\.com/{page}\?token=([A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


class ShiftedClock:
    """The real time, moved by ``offset``: links can be made to expire."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class MailApp:
    http: httpx.AsyncClient
    clock: ShiftedClock
    engine: AsyncEngine


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


def start_app(
    db: str,
    tmp_path: Path,
    inbox: Inbox,
    clock: ShiftedClock | None = None,
    **overrides: dict[str, Any],
) -> Starlette:
    """An app on ``db`` that sends its email to ``inbox``; ``overrides`` by settings group."""
    mail = {
        "smtp_host": "127.0.0.1",
        "smtp_port": inbox.port,
        "smtp_security": "none",
        "app_url": "https://app.example.com",
        "mail_from": "Rapport <no-reply@example.com>",
        **overrides.pop("mail", {}),
    }
    settings = make_settings(tmp_path, mail=mail, **overrides)
    return create_app(settings, database_url=db, clock=clock)


@pytest.fixture(scope="module")
async def mail(
    api_db: str, tmp_path_factory: pytest.TempPathFactory, inbox: Inbox
) -> AsyncIterator[MailApp]:
    clock = ShiftedClock()
    app = start_app(api_db, tmp_path_factory.mktemp("mail"), inbox, clock)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield MailApp(client, clock, app.state.engine)


async def ask_reset(mail: MailApp, inbox: Inbox, address: str, count: int = 1) -> str:
    result = (await data(mail.http, REQUEST, {"e": address}))["requestPasswordReset"]
    assert result["__typename"] == "PasswordResetRequested", result
    return link_token((await inbox.wait_for(address, count))[-1], "reset-password")


async def signs_in(http: httpx.AsyncClient, address: str, password: str) -> bool:
    result = (await data(http, SIGN_IN, {"e": address, "p": password}))["signIn"]
    return bool(result["__typename"] == "AuthPayload")


async def test_sign_up_mails_a_link_that_verifies_the_email(mail: MailApp, inbox: Inbox) -> None:
    user = await sign_up(mail.http)
    me = "{ me { emailVerified } }"
    assert (await data(mail.http, me, token=user.token))["me"] == {"emailVerified": False}
    for _ in range(1000):
        sent = inbox.to(user.email, verification=True)
        if sent:
            break
        await asyncio.sleep(0.01)
    (message,) = sent
    token = link_token(message, "verify-email")
    confirmed = await confirm_email(mail.http, token)
    assert confirmed == {"__typename": "EmailConfirmed", "email": user.email}
    assert (await data(mail.http, me, token=user.token))["me"] == {"emailVerified": True}
    assert (await confirm_email(mail.http, token))["__typename"] == "InvalidCredentials"


async def test_a_reset_link_sets_the_password_and_ends_every_session(
    mail: MailApp, inbox: Inbox
) -> None:
    user = await sign_up(mail.http)
    other = (await data(mail.http, SIGN_IN, {"e": user.email, "p": user.password}))["signIn"]
    token = await ask_reset(mail, inbox, user.email)
    message = inbox.to(user.email)[0]
    assert message["From"] == "Rapport <no-reply@example.com>"
    assert "30 minutes" in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]

    # Only a digest of the token is kept.
    async with mail.engine.connect() as conn:
        kept = (
            await conn.execute(
                # The sign-up's verification token is there too; this test is the reset's.
                sa.text(
                    "SELECT token_hash, purpose FROM account_tokens"
                    " WHERE user_id = :u AND purpose = 'reset'"
                ),
                {"u": uuid.UUID(user.user_id)},
            )
        ).all()
    assert [tuple(row) for row in kept] == [(hashlib.sha256(token.encode()).digest(), "reset")]

    weak = (await data(mail.http, RESET, {"t": token, "p": "short"}))["resetPassword"]
    assert weak["__typename"] == "ValidationError"
    assert weak["fields"][0]["field"] == "newPassword"

    done = (await data(mail.http, RESET, {"t": token, "p": NEW_PASSWORD}))["resetPassword"]
    assert done == {"__typename": "PasswordResetDone", "endedSessions": 2}
    for access in (user.token, other["accessToken"]):
        refused = await post(mail.http, ME, token=access)
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not await signs_in(mail.http, user.email, user.password)
    assert await signs_in(mail.http, user.email, NEW_PASSWORD)
    notice = (await inbox.wait_for(user.email, 2))[1]
    assert notice["Subject"] == "Your Rapport password was changed"

    # Single use: the same link again changes nothing.
    again = await data(mail.http, RESET, {"t": token, "p": "yet another passphrase"})
    assert again["resetPassword"]["__typename"] == "InvalidCredentials"
    assert await signs_in(mail.http, user.email, NEW_PASSWORD)


async def test_a_reset_link_expires(mail: MailApp, inbox: Inbox) -> None:
    user = await sign_up(mail.http)
    token = await ask_reset(mail, inbox, user.email)
    mail.clock.offset = timedelta(minutes=31)
    try:
        late = (await data(mail.http, RESET, {"t": token, "p": NEW_PASSWORD}))["resetPassword"]
    finally:
        mail.clock.offset = timedelta(0)
    assert late["__typename"] == "InvalidCredentials"
    assert "expired" in late["message"]
    assert await signs_in(mail.http, user.email, user.password)


async def test_an_unknown_email_gets_the_same_answer_and_no_email(
    mail: MailApp, inbox: Inbox
) -> None:
    user = await sign_up(mail.http)
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    unknown = await data(mail.http, REQUEST, {"e": nobody.upper()})
    known = await data(mail.http, REQUEST, {"e": user.email})
    assert unknown == known
    # The known one's email arrived; the unknown one's request, made first, sent none.
    await inbox.wait_for(user.email)
    assert inbox.to(nobody) == []

    malformed = (await data(mail.http, REQUEST, {"e": "not an email"}))["requestPasswordReset"]
    assert malformed["__typename"] == "ValidationError"
    assert malformed["fields"][0]["field"] == "email"
    huge = (await data(mail.http, REQUEST, {"e": "a" * 90_000}))["requestPasswordReset"]
    # The refusal quotes the input in part, not 90,000 characters of it.
    assert huge["fields"][0]["message"] == (
        f"'{'a' * 77}...' is not an email address like ada@example.com"
    )


async def test_a_known_and_an_unknown_email_run_the_same_statements(
    mail: MailApp, inbox: Inbox
) -> None:
    user = await sign_up(mail.http)
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.com"

    async def ask(address: str) -> tuple[dict[str, Any], list[str]]:
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(args[2])  # (conn, cursor, statement, parameters, ...)

        event.listen(mail.engine.sync_engine, "before_cursor_execute", record)
        try:
            answer = await data(mail.http, REQUEST, {"e": address})
        finally:
            event.remove(mail.engine.sync_engine, "before_cursor_execute", record)
        return answer, statements

    unknown, known = await ask(nobody), await ask(user.email)
    # Only the parameters differ: an unknown email costs what a known one does, so the time
    # to answer cannot tell them apart (before, it skipped pruning and keeping a token).
    assert unknown == known
    assert any("INSERT INTO account_tokens" in statement for statement in known[1])
    await inbox.wait_for(user.email)
    assert inbox.to(nobody) == []


async def test_a_token_is_only_good_for_its_own_account_and_purpose(
    mail: MailApp, inbox: Inbox
) -> None:
    ada, bob = await sign_up(mail.http), await sign_up(mail.http)
    adas = await ask_reset(mail, inbox, ada.email)
    # A newer link leaves older ones working until one is used; then all die.
    adas_second = await ask_reset(mail, inbox, ada.email, count=2)
    # An email-change token is no reset token.
    fresh = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    await data(mail.http, CHANGE_EMAIL, {"e": fresh, "p": ada.password}, ada.token)
    change = link_token((await inbox.wait_for(fresh))[0], "confirm-email")
    wrong = (await data(mail.http, RESET, {"t": change, "p": NEW_PASSWORD}))["resetPassword"]
    assert wrong["__typename"] == "InvalidCredentials"
    unknown = await data(mail.http, RESET, {"t": "made-up", "p": NEW_PASSWORD})
    assert unknown["resetPassword"]["__typename"] == "InvalidCredentials"

    # Bob, signed in, sending Ada's link resets Ada's password, never his own.
    done = await post(mail.http, RESET, {"t": adas, "p": NEW_PASSWORD}, token=bob.token)
    assert done["data"]["resetPassword"]["__typename"] == "PasswordResetDone"
    assert await signs_in(mail.http, bob.email, bob.password)
    assert (await data(mail.http, ME, token=bob.token))["me"]["email"] == bob.email
    assert await signs_in(mail.http, ada.email, NEW_PASSWORD)
    stale = await data(mail.http, RESET, {"t": adas_second, "p": "a third passphrase"})
    assert stale["resetPassword"]["__typename"] == "InvalidCredentials"


async def test_change_email_waits_for_the_new_address_to_confirm(
    mail: MailApp, inbox: Inbox
) -> None:
    user, other = await sign_up(mail.http), await sign_up(mail.http)
    new = f"moved-{uuid.uuid4().hex[:8]}@example.com"

    async def change(address: str, password: str) -> dict[str, Any]:
        result = await data(mail.http, CHANGE_EMAIL, {"e": address, "p": password}, user.token)
        answer: dict[str, Any] = result["changeEmail"]
        return answer

    wrong = await change(new, "not my password")
    assert wrong["__typename"] == "InvalidCredentials"
    invalid = await change("no-at-sign", user.password)
    assert invalid["__typename"] == "ValidationError"
    assert invalid["fields"][0]["field"] == "newEmail"
    taken = await change(other.email.upper(), user.password)
    assert taken["__typename"] == "Conflict"
    same = await change(user.email, user.password)
    assert same["__typename"] == "ValidationError"
    assert inbox.to(new) == []

    # A reset link sent to the old address dies when the email changes.
    old_reset = await ask_reset(mail, inbox, user.email)
    asked = await change(new.upper(), user.password)
    assert asked["__typename"] == "EmailChangeRequested"
    assert asked["pendingEmail"] == new
    token = link_token((await inbox.wait_for(new))[0], "confirm-email")
    notice = (await inbox.wait_for(user.email, 2))[1]
    assert notice["Subject"] == "Your Rapport email is about to change"
    # Nothing changed yet.
    assert (await data(mail.http, ME, token=user.token))["me"]["email"] == user.email

    confirmed = (await data(mail.http, CONFIRM, {"t": token}))["confirmEmailChange"]
    assert confirmed == {"__typename": "EmailChanged", "email": new}
    assert (await data(mail.http, ME, token=user.token))["me"]["email"] == new
    assert await signs_in(mail.http, new, user.password)
    assert not await signs_in(mail.http, user.email, user.password)
    again = (await data(mail.http, CONFIRM, {"t": token}))["confirmEmailChange"]
    assert again["__typename"] == "InvalidCredentials"
    dead = (await data(mail.http, RESET, {"t": old_reset, "p": NEW_PASSWORD}))["resetPassword"]
    assert dead["__typename"] == "InvalidCredentials"


@pytest.mark.parametrize("how", ["changePassword", "resetPassword"])
async def test_a_new_password_ends_a_pending_email_change(
    mail: MailApp, inbox: Inbox, how: str
) -> None:
    # Someone who knows the password asks to move the account to their address; the owner,
    # warned by the notice, sets a new password. The stranger's link must die with the old one.
    user = await sign_up(mail.http)
    stranger = f"stranger-{uuid.uuid4().hex[:8]}@example.com"
    asked = await data(mail.http, CHANGE_EMAIL, {"e": stranger, "p": user.password}, user.token)
    assert asked["changeEmail"]["__typename"] == "EmailChangeRequested"
    token = link_token((await inbox.wait_for(stranger))[0], "confirm-email")
    if how == "changePassword":
        changed = await data(
            mail.http, CHANGE_PASSWORD, {"c": user.password, "n": NEW_PASSWORD}, user.token
        )
        assert changed["changePassword"]["__typename"] == "PasswordChanged", changed
    else:
        reset = await ask_reset(mail, inbox, user.email, 2)
        done = (await data(mail.http, RESET, {"t": reset, "p": NEW_PASSWORD}))["resetPassword"]
        assert done["__typename"] == "PasswordResetDone", done
    confirmed = (await data(mail.http, CONFIRM, {"t": token}))["confirmEmailChange"]
    assert confirmed["__typename"] == "InvalidCredentials"
    assert await signs_in(mail.http, user.email, NEW_PASSWORD)


async def test_an_address_taken_before_confirmation_is_a_conflict(
    mail: MailApp, inbox: Inbox
) -> None:
    user = await sign_up(mail.http)
    wanted = f"wanted-{uuid.uuid4().hex[:8]}@example.com"
    await data(mail.http, CHANGE_EMAIL, {"e": wanted, "p": user.password}, user.token)
    token = link_token((await inbox.wait_for(wanted))[0], "confirm-email")
    await data(
        mail.http,
        "mutation($i: SignUpInput!) { signUp(input: $i) { __typename } }",
        {"i": {"email": wanted, "password": "someone else's password"}},
    )
    clash = (await data(mail.http, CONFIRM, {"t": token}))["confirmEmailChange"]
    assert clash["__typename"] == "Conflict"
    assert (await data(mail.http, ME, token=user.token))["me"]["email"] == user.email


async def test_mail_requests_are_rate_limited_per_email_and_per_client(
    server_url: str, template_db: str, tmp_path: Path, inbox: Inbox
) -> None:
    async with cloned_database(server_url, template_db) as db:
        app = start_app(db, tmp_path, inbox, mail={"email_limit": 2, "address_limit": 5})
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            user = await sign_up(http)
            nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
            for address in (user.email, nobody):
                answers = [
                    (await data(http, REQUEST, {"e": address}))["requestPasswordReset"]
                    for _ in range(3)
                ]
                # The same for an account and for none: the limit tells no one which exists.
                assert [a["__typename"] for a in answers] == [
                    "PasswordResetRequested",
                    "PasswordResetRequested",
                    "RateLimited",
                ]
                assert answers[2]["retryAfter"] > 0
            assert len(await inbox.wait_for(user.email, 2)) == 2
            # Six requests from this client so far: its limit (5) refuses the next, even with
            # a link to try.
            tried = (await data(http, RESET, {"t": "x", "p": NEW_PASSWORD}))["resetPassword"]
            assert tried["__typename"] == "RateLimited"


async def test_a_firebase_account_has_no_password_to_reset_or_email_to_change(
    tmp_path: Path, api_db: str, inbox: Inbox
) -> None:
    key, cert = _key_and_cert()

    async def certs(request: Request) -> Response:
        return JSONResponse({"test-key": cert}, headers={"Cache-Control": "max-age=60"})

    async with serve(Starlette(routes=[Route("/certs", certs)])) as cert_url:
        app = start_app(
            api_db,
            tmp_path,
            inbox,
            auth={"firebase_project_id": PROJECT, "firebase_cert_url": f"{cert_url}/certs"},
        )
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            address = f"fb-{uuid.uuid4().hex[:8]}@example.com"
            token = _id_token(key, f"firebase-{uuid.uuid4().hex[:8]}", email=address)
            assert (await data(http, ME, token=token))["me"]["email"] == address
            change = await data(
                http, CHANGE_EMAIL, {"e": "elsewhere@example.com", "p": "anything"}, token
            )
            assert change["changeEmail"]["__typename"] == "InvalidCredentials"
            assert "Firebase" in change["changeEmail"]["message"]

            asked = (await data(http, REQUEST, {"e": address}))["requestPasswordReset"]
            assert asked["__typename"] == "PasswordResetRequested"
            # A known local account's email, asked for after, arrives; the Firebase one none.
            local = await sign_up(http)
            await data(http, REQUEST, {"e": local.email})
            await inbox.wait_for(local.email)
            assert inbox.to(address) == []
