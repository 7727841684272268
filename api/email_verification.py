"""Proving an account's email is its owner's: a single-use link sent to the address.

Colleague invitations are found by email (sync/colleague.py), so whoever signs up with an
address must show they read its mail before an invitation to it reaches them. ``send`` mails
the link (at sign-up), ``request`` sends a new one (rate-limited like the other account
emails), ``confirm`` spends it and marks the address verified, unless the account's email
changed since the link was sent. A confirmed email change verifies the new address itself
(api/email_change.py); a password change or reset proves nothing about the address.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from api.mailer import Email, Outbox
from api.reset import MailLimits, new_token, spend_link
from model.clock import Clock
from model.errors import InvalidCredentials, Unauthenticated
from store import account_tokens, accounts


class EmailVerification:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        clock: Clock,
        outbox: Outbox,
        limits: MailLimits,
        ttl: timedelta,
        link: str,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.outbox = outbox
        self.limits = limits
        self.ttl = ttl
        # The page that confirms the address, e.g. https://app.example.com/verify-email.
        self.link = link

    async def send(self, *, user_id: UUID, email: str) -> None:
        """Mail a new confirmation link to ``email``; older links of the account stop working."""
        now = self.clock.now()
        token, token_hash = new_token()
        async with self.engine.begin() as conn:
            await account_tokens.drop_tokens(conn, user_id=user_id, purpose=account_tokens.VERIFY)
            await account_tokens.prune_tokens(conn, user_id=user_id, now=now)
            await account_tokens.insert_token(
                conn,
                token_hash=token_hash,
                user_id=user_id,
                purpose=account_tokens.VERIFY,
                now=now,
                expires_at=now + self.ttl,
                new_email=email,
            )
        hours = int(self.ttl.total_seconds() // 3600)
        self.outbox.post(
            Email(
                to=email,
                subject="Confirm your Rapport email",
                text=(
                    "Confirm that this address is yours, within "
                    f"{hours} hours:\n{self.link}?token={token}\n\nColleague invitations sent "
                    "to it reach you once it is confirmed. If you did not sign up for Rapport, "
                    "ignore this email.\n"
                ),
            )
        )

    async def request(self, *, user_id: UUID, address: str) -> None:
        """Send a new link to the account's email; nothing if it is verified already."""
        async with self.engine.connect() as conn:
            user = await accounts.get_user(conn, user_id=user_id)
        if user is None:
            raise Unauthenticated("This account no longer exists.")
        email = user["email"]
        if email is None:
            raise InvalidCredentials("This account has no email address to confirm.")
        await self.limits.admit_email(email=email, address=address)
        if user["email_verified_at"] is None:
            await self.send(user_id=user_id, email=email)

    async def confirm(self, *, token: str, address: str) -> str:
        """Mark the address a link was sent to verified; return it."""
        await self.limits.admit_link(address=address)
        now = self.clock.now()
        async with self.engine.begin() as conn:
            spent = await spend_link(
                conn,
                token=token,
                purpose=account_tokens.VERIFY,
                now=now,
                refusal="This confirmation link is not valid any more (used, expired, "
                "replaced by a newer one or never sent); ask for a new one "
                "(requestEmailVerification).",
            )
            user = await accounts.get_user(conn, user_id=spent["user_id"])
            assert user is not None, "the token goes with its user"
            if user["email"] != spent["new_email"]:
                # The account's email changed since: the link proves an address it gave up.
                raise InvalidCredentials(
                    "This link was sent to an address this account no longer uses; "
                    "ask for a new one (requestEmailVerification)."
                )
            if user["email_verified_at"] is None:
                await accounts.update_user(
                    conn, user_id=user["id"], now=now, values={"email_verified_at": now}
                )
        return str(spent["new_email"])
