"""Changing the account's email: proven by the password, confirmed from the new mailbox.

``request`` checks the password (counted by the sign-in limit, as changePassword is), that the
address is well formed and free, then emails a single-use link to the new address and a notice
to the old one; nothing changes until the link is used. ``confirm`` spends the link's token and
sets the email, marked verified (the link proved the mailbox), unless another account took
the address meanwhile. Reset links sent to the old
address die with it. A Firebase account has no password here: its email is its provider's,
and changeEmail says so (InvalidCredentials).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth import normalize_email
from api.mailer import Email, Outbox, mask_address
from api.reset import MailLimits, new_token, spend_link
from model.clock import Clock
from model.errors import Conflict, FieldError, ValidationFailed
from store import account_tokens, accounts

# Returns the user if the password is theirs; raises InvalidCredentials or RateLimited
# (api.auth.Authenticator's check, with the sign-in limit).
CheckPassword = Callable[[UUID, str, str], Awaitable[sa.RowMapping]]


class EmailChange:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        clock: Clock,
        outbox: Outbox,
        limits: MailLimits,
        check_password: CheckPassword,
        ttl: timedelta,
        link: str,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.outbox = outbox
        self.limits = limits
        self.check_password = check_password
        self.ttl = ttl
        # The page that confirms an address, e.g. https://app.example.com/confirm-email.
        self.link = link

    async def request(
        self, *, user_id: UUID, new_email: str, password: str, address: str
    ) -> tuple[str, datetime]:
        """Email a confirmation link to ``new_email``; return it normalized and the link's end."""
        normalized = normalize_email("newEmail", new_email)
        user = await self.check_password(user_id, password, address)
        if normalized == user["email"]:
            raise ValidationFailed([FieldError("newEmail", "this is already your email")])
        await self.limits.admit_email(email=normalized, address=address)
        now = self.clock.now()
        expires_at = now + self.ttl
        async with self.engine.begin() as conn:
            if await accounts.find_user_by_email(conn, email=normalized) is not None:
                raise Conflict(f"{normalized} already belongs to another account.")
            token, token_hash = new_token()
            # One change in flight: a newer request voids the links of older ones.
            await account_tokens.drop_tokens(conn, user_id=user_id, purpose=account_tokens.EMAIL)
            await account_tokens.prune_tokens(conn, user_id=user_id, now=now)
            await account_tokens.insert_token(
                conn,
                token_hash=token_hash,
                user_id=user_id,
                purpose=account_tokens.EMAIL,
                now=now,
                expires_at=expires_at,
                new_email=normalized,
            )
        hours = int(self.ttl.total_seconds() // 3600)
        self.outbox.post(
            Email(
                to=normalized,
                subject="Confirm your new Rapport email",
                text=(
                    "Confirm that this address should sign in to your Rapport account, "
                    f"within {hours} hours:\n{self.link}?token={token}\n\nUntil then your "
                    "account keeps its old email. If you did not ask, ignore this email.\n"
                ),
            )
        )
        self.outbox.post(
            Email(
                to=user["email"],
                subject="Your Rapport email is about to change",
                text=(
                    f"Someone signed in to your Rapport account asked to change its email to "
                    f"{mask_address(normalized)}. It changes once that address confirms.\n\n"
                    "If this was not you, change your password now: the change needed it.\n"
                ),
            )
        )
        return normalized, expires_at

    async def confirm(self, *, token: str, address: str) -> str:
        """Set the email a link was sent to; return it."""
        await self.limits.admit_link(address=address)
        now = self.clock.now()
        try:
            async with self.engine.begin() as conn:
                spent = await spend_link(
                    conn,
                    token=token,
                    purpose=account_tokens.EMAIL,
                    now=now,
                    refusal="This confirmation link is not valid any more (used, expired, "
                    "replaced by a newer change or never sent); change your email again.",
                )
                user_id, new_email = spent["user_id"], spent["new_email"]
                # The link reached the new address: it is verified as it takes effect.
                await accounts.update_user(
                    conn,
                    user_id=user_id,
                    now=now,
                    values={"email": new_email, "email_verified_at": now},
                )
                # Reset links went to the old address: they must not outlive it.
                await account_tokens.drop_tokens(conn, user_id=user_id)
        except IntegrityError:
            # Another account took the address after the link was sent; the link stays unspent.
            raise Conflict("This email now belongs to another account.") from None
        return str(new_email)
