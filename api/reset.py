"""Password reset by email: a single-use link, short-lived, kept only as a SHA-256 digest.

``request`` answers the same whether or not the email has an account (no enumeration), and
does the same work: it makes a token either way and runs the same statements in one
transaction (``account_tokens.issue_reset_token`` keeps the token only for a password
account), the email goes out in the background (``api.mailer.Outbox``), and the limits count
unknown emails like known ones. ``reset`` spends the token, sets the password (the sign-up
rule), ends every session and clears the account's failed sign-ins, in one transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import anyio.to_thread
from argon2 import PasswordHasher
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.auth import normalize_email, password_problem
from api.mailer import Email, Outbox
from api.throttle import SIGN_IN_ACCOUNT, Limit, spend_steps, take_steps, to_seconds
from model.clock import Clock
from model.errors import InvalidCredentials, RateLimited, ValidationFailed
from store import account_tokens, accounts, ratelimits

MAIL_EMAIL = "mail-email"
MAIL_ADDRESS = "mail-address"


def new_token() -> tuple[str, bytes]:
    """A secret for a link, and the digest kept in its place."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def spend_link(
    conn: AsyncConnection, *, token: str, purpose: str, now: datetime, refusal: str
) -> RowMapping:
    """Spend an emailed link's token once; raise InvalidCredentials(``refusal``) if it cannot."""
    spent = await account_tokens.spend_token(
        conn, token_hash=digest(token), purpose=purpose, now=now
    )
    if spent is None:
        raise InvalidCredentials(refusal)
    return spent


@dataclass(frozen=True)
class MailLimits:
    """How often account emails may be asked for, and their links tried (store.ratelimits)."""

    engine: AsyncEngine
    # Emails to one address, so nobody can flood a mailbox with resets.
    per_email: Limit
    # Requests for emails, and uses of their links, from one client address.
    per_address: Limit

    def _email_steps(self, email: str, address: str) -> tuple[tuple[str, str, Limit], ...]:
        return (MAIL_ADDRESS, address, self.per_address), (MAIL_EMAIL, email, self.per_email)

    async def admit_email(self, *, email: str, address: str) -> None:
        """Count an email asked for to ``email`` from ``address``, or raise RateLimited."""
        await take_steps(self.engine, *self._email_steps(email, address))

    async def spend_email(
        self, conn: AsyncConnection, *, email: str, address: str
    ) -> timedelta | None:
        """``admit_email`` in the caller's transaction: None if let in, else how long to wait.

        The caller commits before raising RateLimited, so the spent requests stay spent.
        """
        return await spend_steps(conn, self._email_steps(email, address))

    async def admit_link(self, *, address: str) -> None:
        """Count a use of an emailed link from ``address``, or raise RateLimited."""
        await take_steps(self.engine, (MAIL_ADDRESS, address, self.per_address))


class PasswordReset:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        clock: Clock,
        outbox: Outbox,
        hasher: PasswordHasher,
        limits: MailLimits,
        ttl: timedelta,
        link: str,
        forget_user: Callable[[UUID], None],
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.outbox = outbox
        self.hasher = hasher
        self.limits = limits
        self.ttl = ttl
        # The page that resets a password, e.g. https://app.example.com/reset-password.
        self.link = link
        # Drops the sessions the authenticator vouches for from memory (api.auth).
        self.forget_user = forget_user

    async def request(self, *, email: str, address: str) -> None:
        """Email a reset link if ``email`` has a password account; answer the same if not."""
        normalized = normalize_email("email", email)
        # The same work for every email, so that the time to answer does not tell whether an
        # account uses it: a token is made, and one transaction spends the limits and runs
        # one statement that keeps the token only for a password account. Both commit a
        # write (the limits), so both wait for the same WAL flush.
        token, token_hash = new_token()
        now = self.clock.now()
        user_id = None
        async with self.engine.begin() as conn:
            wait = await self.limits.spend_email(conn, email=normalized, address=address)
            if wait is None:
                user_id = await account_tokens.issue_reset_token(
                    conn,
                    email=normalized,
                    token_hash=token_hash,
                    now=now,
                    expires_at=now + self.ttl,
                )
        if wait is not None:
            raise RateLimited(to_seconds(wait))
        if user_id is None:
            # No account, or a Firebase one; sending in the background hides the rest.
            return
        minutes = int(self.ttl.total_seconds() // 60)
        self.outbox.post(
            Email(
                to=normalized,
                subject="Reset your Rapport password",
                text=(
                    "Someone (we hope you) asked to reset the password of your Rapport "
                    f"account.\n\nChoose a new password here within {minutes} minutes:\n"
                    f"{self.link}?token={token}\n\nThe link works once. If you did not ask, "
                    "ignore this email: your password stays as it is.\n"
                ),
            )
        )

    async def reset(self, *, token: str, new_password: str, address: str) -> int:
        """Set a new password with an emailed token; return how many sessions were ended."""
        problem = password_problem("newPassword", new_password)
        if problem is not None:
            raise ValidationFailed([problem])
        await self.limits.admit_link(address=address)
        password_hash = await anyio.to_thread.run_sync(self.hasher.hash, new_password)
        now = self.clock.now()
        async with self.engine.begin() as conn:
            spent = await spend_link(
                conn,
                token=token,
                purpose=account_tokens.RESET,
                now=now,
                refusal="This reset link is not valid any more (used, expired or never sent); "
                "ask for a new one.",
            )
            user_id = spent["user_id"]
            user = await accounts.update_user(
                conn, user_id=user_id, now=now, values={"password_hash": password_hash}
            )
            # Every other link of the account dies with this one: another reset link, and a
            # pending email change (whoever asked for it knew the password now replaced).
            await account_tokens.drop_tokens(conn, user_id=user_id)
            ended = await accounts.revoke_other_sessions(conn, user_id=user_id, keep=None, now=now)
            # Whoever was locked out by failed sign-ins proved the mailbox is theirs.
            await ratelimits.forget_key(conn, scope=SIGN_IN_ACCOUNT, key=user["email"])
        self.forget_user(user_id)
        self.outbox.post(
            Email(
                to=user["email"],
                subject="Your Rapport password was changed",
                text=(
                    "The password of your Rapport account was reset with a link sent to this "
                    "address, and every device was signed out.\n\nIf this was not you, reset "
                    "it again at once and check who can read this mailbox.\n"
                ),
            )
        )
        return len(ended)
