"""Verifying the account's email: the link mailed at sign-up, resending it, and what does not
count as proof (a password change or reset). The shared app's emails are kept in MAILBOX."""

from __future__ import annotations

from uuid import uuid4

import httpx

from tests.api.graphql import Account, confirm_email, data, sign_up
from tests.api.mailbox import MAILBOX

ME = "{ me { email emailVerified } }"
RESEND = """
mutation {
  requestEmailVerification {
    __typename
    ... on EmailVerificationRequested { message }
    ... on InvalidCredentials { message }
    ... on RateLimited { retryAfter }
  }
}
"""
CHANGE_EMAIL = """
mutation($e: String!, $p: String!) {
  changeEmail(input: {newEmail: $e, password: $p}) { __typename }
}
"""
CONFIRM_CHANGE = """
mutation($t: String!) { confirmEmailChange(token: $t) { __typename ... on EmailChanged { email } } }
"""
CHANGE_PASSWORD = """
mutation($c: String!, $n: String!) {
  changePassword(input: {currentPassword: $c, newPassword: $n}) { __typename }
}
"""
REQUEST_RESET = "mutation($e: String!) { requestPasswordReset(email: $e) { __typename } }"
RESET = """
mutation($t: String!, $p: String!) {
  resetPassword(input: {token: $t, newPassword: $p}) { __typename }
}
"""


async def verified(http: httpx.AsyncClient, who: Account, token: str | None = None) -> bool:
    me = (await data(http, ME, token=token or who.token))["me"]
    return bool(me["emailVerified"])


async def test_the_sign_up_link_verifies_the_email_once(http: httpx.AsyncClient) -> None:
    address = f"Mixed-{uuid4().hex[:8]}@Example.com"
    # Kept lower-cased, as the link's address is.
    ada = await sign_up(http, email=address)
    assert not await verified(http, ada)
    token = await MAILBOX.link_token(address.lower(), "verify-email")
    assert await confirm_email(http, token) == {
        "__typename": "EmailConfirmed",
        "email": address.lower(),
    }
    assert await verified(http, ada)
    again = await confirm_email(http, token)
    assert again["__typename"] == "InvalidCredentials"
    assert "requestEmailVerification" in again["message"]


async def test_a_new_link_replaces_the_old_and_requests_are_limited(
    http: httpx.AsyncClient,
) -> None:
    ada = await sign_up(http)
    first = await MAILBOX.link_token(ada.email, "verify-email")
    answer = (await data(http, RESEND, token=ada.token))["requestEmailVerification"]
    assert answer["__typename"] == "EmailVerificationRequested", answer
    second = await MAILBOX.link_token(ada.email, "verify-email", count=2)
    assert (await confirm_email(http, first))["__typename"] == "InvalidCredentials"
    assert not await verified(http, ada)
    assert (await confirm_email(http, second))["__typename"] == "EmailConfirmed"
    assert await verified(http, ada)
    # Verified already: the same answer, and no email; the limit counts it all the same.
    answers = [
        (await data(http, RESEND, token=ada.token))["requestEmailVerification"]["__typename"]
        for _ in range(3)
    ]
    assert answers == ["EmailVerificationRequested", "EmailVerificationRequested", "RateLimited"]
    assert len([e for e in MAILBOX.to(ada.email) if "verify-email" in e.text]) == 2


async def test_a_confirmed_email_change_verifies_the_new_address(http: httpx.AsyncClient) -> None:
    ada = await sign_up(http)
    fresh = f"fresh-{uuid4().hex[:8]}@example.com"
    asked = await data(http, CHANGE_EMAIL, {"e": fresh, "p": ada.password}, ada.token)
    assert asked["changeEmail"]["__typename"] == "EmailChangeRequested"
    token = await MAILBOX.link_token(fresh, "confirm-email")
    changed = (await data(http, CONFIRM_CHANGE, {"t": token}))["confirmEmailChange"]
    assert changed == {"__typename": "EmailChanged", "email": fresh}
    assert (await data(http, ME, token=ada.token))["me"] == {
        "email": fresh,
        "emailVerified": True,
    }
    # The sign-up link went to the old address: it proves nothing about the new one.
    old = await MAILBOX.link_token(ada.email, "verify-email")
    assert (await confirm_email(http, old))["__typename"] == "InvalidCredentials"


async def test_a_password_change_or_reset_verifies_nothing(http: httpx.AsyncClient) -> None:
    ada = await sign_up(http)
    changed = await data(
        http, CHANGE_PASSWORD, {"c": ada.password, "n": "another long passphrase"}, ada.token
    )
    assert changed["changePassword"]["__typename"] == "PasswordChanged", changed
    assert not await verified(http, ada)
    await data(http, REQUEST_RESET, {"e": ada.email})
    token = await MAILBOX.link_token(ada.email, "reset-password")
    reset = await data(http, RESET, {"t": token, "p": "a third long passphrase"})
    assert reset["resetPassword"]["__typename"] == "PasswordResetDone"
    signed = await data(
        http,
        "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) {"
        " ... on AuthPayload { accessToken } } }",
        {"e": ada.email, "p": "a third long passphrase"},
    )
    assert not await verified(http, ada, signed["signIn"]["accessToken"])
