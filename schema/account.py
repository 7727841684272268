"""Account email and the calendar feed: password reset, email change and verification,
calendarFeed.

Thin resolvers over ``api.reset``, ``api.email_change`` and ``api.calendar_feed`` (reached
through ``Context.self_service``); each service call is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Protocol
from uuid import UUID

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.errors import (
    CONFLICT,
    INVALID_CREDENTIALS,
    RATE_LIMITED,
    VALIDATION,
    Conflict,
    InvalidCredentials,
    RateLimited,
    ValidationError,
)
from schema.write import run_call


class PasswordResets(Protocol):
    async def request(self, *, email: str, address: str) -> None: ...
    async def reset(self, *, token: str, new_password: str, address: str) -> int: ...


class EmailChanges(Protocol):
    async def request(
        self, *, user_id: UUID, new_email: str, password: str, address: str
    ) -> tuple[str, datetime]: ...
    async def confirm(self, *, token: str, address: str) -> str: ...


class EmailVerifications(Protocol):
    async def send(self, *, user_id: UUID, email: str) -> None: ...
    async def request(self, *, user_id: UUID, address: str) -> None: ...
    async def confirm(self, *, token: str, address: str) -> str: ...


class CalendarFeeds(Protocol):
    async def url(self, *, user_id: UUID) -> str: ...
    async def rotate(self, *, user_id: UUID) -> str: ...


@dataclass(frozen=True)
class SelfService:
    """The services behind this module's fields (built in api/self_service.py)."""

    resets: PasswordResets
    email_changes: EmailChanges
    verifications: EmailVerifications
    calendar_feeds: CalendarFeeds


def _services(ctx: Context) -> SelfService:
    assert ctx.self_service is not None, "the app builds Context with self_service"
    return ctx.self_service


@strawberry.input
class ResetPasswordInput:
    token: str = strawberry.field(description="The token of the emailed reset link.")
    new_password: str


@strawberry.input
class ChangeEmailInput:
    new_email: str
    password: str = strawberry.field(description="Your current password.")


@strawberry.type(
    description="Asked. The answer is the same whether or not an account uses the email."
)
class PasswordResetRequested:
    message: str


@strawberry.type(description="The new password is set and every session was ended; sign in.")
class PasswordResetDone:
    ended_sessions: int = strawberry.field(description="How many sessions were ended.")


@strawberry.type(
    description="A confirmation link went to the new address and a notice to the old one; "
    "the email changes when the link is used."
)
class EmailChangeRequested:
    pending_email: str
    expires_at: datetime = strawberry.field(description="When the confirmation link stops working.")


@strawberry.type(description="The account's email is now `email`.")
class EmailChanged:
    email: str


@strawberry.type(
    description="Asked: unless your email is verified already, a new confirmation link is on "
    "its way to it (older ones stop working)."
)
class EmailVerificationRequested:
    message: str


@strawberry.type(description="The account's email `email` is verified.")
class EmailConfirmed:
    email: str


@strawberry.type(
    description="Your secret calendar URL (iCalendar): subscribe to it in a calendar app. "
    "Anyone with it can read your dates; rotate it if it leaked."
)
class CalendarFeed:
    url: str


RequestPasswordResetResult = Annotated[
    PasswordResetRequested | ValidationError | RateLimited,
    strawberry.union("RequestPasswordResetResult"),
]
ResetPasswordResult = Annotated[
    PasswordResetDone | ValidationError | InvalidCredentials | RateLimited,
    strawberry.union("ResetPasswordResult"),
]
ChangeEmailResult = Annotated[
    EmailChangeRequested | ValidationError | InvalidCredentials | Conflict | RateLimited,
    strawberry.union("ChangeEmailResult"),
]
ConfirmEmailChangeResult = Annotated[
    EmailChanged | InvalidCredentials | Conflict | RateLimited,
    strawberry.union("ConfirmEmailChangeResult"),
]

RequestEmailVerificationResult = Annotated[
    EmailVerificationRequested | InvalidCredentials | RateLimited,
    strawberry.union("RequestEmailVerificationResult"),
]
ConfirmEmailResult = Annotated[
    EmailConfirmed | InvalidCredentials | RateLimited,
    strawberry.union("ConfirmEmailResult"),
]


@strawberry.type
class AccountQuery:
    @strawberry.field(description="Your calendar feed's URL (made on first ask).")
    async def calendar_feed(self, info: Info[Context, None]) -> CalendarFeed:
        ctx = info.context
        user_id = await ctx.owner_id()
        return CalendarFeed(url=await _services(ctx).calendar_feeds.url(user_id=user_id))


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Email a password reset link to `email` if an account uses it. No sign-in "
        "needed; the answer never says whether the account exists."
    )
    async def request_password_reset(
        self, info: Info[Context, None], email: str
    ) -> RequestPasswordResetResult:
        ctx = info.context
        return await run_call(
            lambda: _services(ctx).resets.request(email=email, address=ctx.client_address),
            lambda _: PasswordResetRequested(
                message="If an account uses this email, a reset link is on its way to it."
            ),
            VALIDATION | RATE_LIMITED,
        )

    @strawberry.mutation(
        description="Set a new password with the token of an emailed reset link (single use). "
        "Every session ends; sign in with the new password."
    )
    async def reset_password(
        self, info: Info[Context, None], input: ResetPasswordInput
    ) -> ResetPasswordResult:
        ctx = info.context
        return await run_call(
            lambda: _services(ctx).resets.reset(
                token=input.token, new_password=input.new_password, address=ctx.client_address
            ),
            lambda ended: PasswordResetDone(ended_sessions=ended),
            VALIDATION | INVALID_CREDENTIALS | RATE_LIMITED,
        )

    @strawberry.mutation(
        description="Change your email: needs your password; takes effect when the link sent "
        "to the new address is used (confirmEmailChange)."
    )
    async def change_email(
        self, info: Info[Context, None], input: ChangeEmailInput
    ) -> ChangeEmailResult:
        ctx = info.context
        user_id = await ctx.owner_id()
        return await run_call(
            lambda: _services(ctx).email_changes.request(
                user_id=user_id,
                new_email=input.new_email,
                password=input.password,
                address=ctx.client_address,
            ),
            lambda asked: EmailChangeRequested(pending_email=asked[0], expires_at=asked[1]),
            VALIDATION | INVALID_CREDENTIALS | CONFLICT | RATE_LIMITED,
        )

    @strawberry.mutation(
        description="Confirm a new email with the token of the link sent to it (single use). "
        "No sign-in needed: the link is the proof."
    )
    async def confirm_email_change(
        self, info: Info[Context, None], token: str
    ) -> ConfirmEmailChangeResult:
        ctx = info.context
        return await run_call(
            lambda: _services(ctx).email_changes.confirm(token=token, address=ctx.client_address),
            lambda email: EmailChanged(email=email),
            INVALID_CREDENTIALS | CONFLICT | RATE_LIMITED,
        )

    @strawberry.mutation(
        description="Email a new link confirming your address (signUp sent the first). "
        "Colleague invitations reach you once it is confirmed."
    )
    async def request_email_verification(
        self, info: Info[Context, None]
    ) -> RequestEmailVerificationResult:
        ctx = info.context
        user_id = await ctx.owner_id()
        return await run_call(
            lambda: _services(ctx).verifications.request(
                user_id=user_id, address=ctx.client_address
            ),
            lambda _: EmailVerificationRequested(
                message="Unless your email is confirmed already, a link is on its way to it."
            ),
            INVALID_CREDENTIALS | RATE_LIMITED,
        )

    @strawberry.mutation(
        description="Confirm your email with the token of the link sent to it (single use). "
        "No sign-in needed: the link is the proof."
    )
    async def confirm_email(self, info: Info[Context, None], token: str) -> ConfirmEmailResult:
        ctx = info.context
        return await run_call(
            lambda: _services(ctx).verifications.confirm(token=token, address=ctx.client_address),
            lambda email: EmailConfirmed(email=email),
            INVALID_CREDENTIALS | RATE_LIMITED,
        )

    @strawberry.mutation(
        description="Replace your calendar feed's URL; the old one stops working at once."
    )
    async def rotate_calendar_feed(self, info: Info[Context, None]) -> CalendarFeed:
        ctx = info.context
        user_id = await ctx.owner_id()
        return CalendarFeed(url=await _services(ctx).calendar_feeds.rotate(user_id=user_id))
