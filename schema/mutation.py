"""Write operations. Each mutation is one call through ``schema.write`` (run_write, run_call)."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import strawberry
from strawberry.types import Info

from model import errors
from model.ids import parse_uuid
from schema.context import Context, TokenPair
from schema.errors import (
    CONFLICT,
    INVALID_CREDENTIALS,
    RATE_LIMITED,
    VALIDATION,
    Conflict,
    Deleted,
    InvalidCredentials,
    NotFound,
    RateLimited,
    ValidationError,
    not_found,
)
from schema.inputs import (
    ChangePasswordInput,
    CreateContactInput,
    CreateTagInput,
    DeleteAccountInput,
    LogInteractionInput,
    SignInInput,
    SignUpInput,
    UpdateContactInput,
    UpdateInteractionInput,
    UpdateMeInput,
    to_patch,
)
from schema.nodes import AuthPayload, Contact, Interaction, Tag, User
from schema.write import deleted, run_call, run_write
from sync import account, contact, interaction, tag
from sync.entity import new_id
from sync.writer import Writer

AuthResult = Annotated[
    AuthPayload | ValidationError | Conflict | RateLimited, strawberry.union("AuthResult")
]
SignInResult = Annotated[
    AuthPayload | InvalidCredentials | RateLimited, strawberry.union("SignInResult")
]
UserResult = Annotated[User | ValidationError, strawberry.union("UserResult")]
ContactResult = Annotated[Contact | ValidationError | NotFound, strawberry.union("ContactResult")]
InteractionResult = Annotated[
    Interaction | ValidationError | NotFound, strawberry.union("InteractionResult")
]
TagResult = Annotated[Tag | ValidationError | NotFound | Conflict, strawberry.union("TagResult")]
DeleteResult = Annotated[Deleted | ValidationError | NotFound, strawberry.union("DeleteResult")]


@strawberry.type
class SignedOut:
    ok: bool


@strawberry.type(description="The account and everything in it are gone; its tokens are refused.")
class AccountDeleted:
    ok: bool


@strawberry.type(description="The new password is set; every other session was ended.")
class PasswordChanged:
    ended_sessions: int = strawberry.field(description="How many other sessions were ended.")


@strawberry.type(description="The session is ended; its access and refresh tokens are refused.")
class SessionRevoked:
    id: strawberry.ID


DeleteAccountResult = Annotated[
    AccountDeleted | InvalidCredentials | RateLimited, strawberry.union("DeleteAccountResult")
]
ChangePasswordResult = Annotated[
    PasswordChanged | ValidationError | InvalidCredentials | RateLimited,
    strawberry.union("ChangePasswordResult"),
]
RevokeSessionResult = Annotated[
    SessionRevoked | ValidationError | NotFound, strawberry.union("RevokeSessionResult")
]


def _payload(tokens: TokenPair) -> AuthPayload:
    return AuthPayload(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
        user=User.from_row(tokens.user),
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create an account and sign in. A link confirming the email is sent to it "
        "(confirmEmail); colleague invitations reach the account once it is used."
    )
    async def sign_up(self, info: Info[Context, None], input: SignUpInput) -> AuthResult:
        ctx = info.context

        async def sign_up() -> TokenPair:
            tokens = await ctx.accounts.sign_up(
                email=input.email,
                password=input.password,
                display_name=input.display_name,
                time_zone=input.time_zone,
                address=ctx.client_address,
            )
            if ctx.self_service is not None:
                # Nobody checked the address is the signer's; invitations to it wait for this.
                await ctx.self_service.verifications.send(
                    user_id=tokens.user["id"], email=tokens.user["email"]
                )
            return tokens

        return await run_call(sign_up, _payload, VALIDATION | CONFLICT | RATE_LIMITED)

    @strawberry.mutation(description="Sign in with email and password.")
    async def sign_in(self, info: Info[Context, None], input: SignInInput) -> SignInResult:
        ctx = info.context
        return await run_call(
            lambda: ctx.accounts.sign_in(
                email=input.email, password=input.password, address=ctx.client_address
            ),
            _payload,
            INVALID_CREDENTIALS | RATE_LIMITED,
        )

    @strawberry.mutation(description="Trade a refresh token for a new token pair.")
    async def refresh_session(self, info: Info[Context, None], refresh_token: str) -> SignInResult:
        return await run_call(
            lambda: info.context.accounts.refresh(refresh_token=refresh_token),
            _payload,
            INVALID_CREDENTIALS,
        )

    @strawberry.mutation(description="End this session; its tokens stop working.")
    async def sign_out(self, info: Info[Context, None]) -> SignedOut:
        ctx = info.context
        await ctx.accounts.sign_out((await ctx.viewer()).session_id)
        return SignedOut(ok=True)

    @strawberry.mutation(
        description="Change your password (same rules as sign-up); every other session ends, "
        "this one keeps working."
    )
    async def change_password(
        self, info: Info[Context, None], input: ChangePasswordInput
    ) -> ChangePasswordResult:
        ctx = info.context
        viewer = await ctx.viewer()
        return await run_call(
            lambda: ctx.accounts.change_password(
                user_id=viewer.user_id,
                session_id=viewer.session_id,
                current_password=input.current_password,
                new_password=input.new_password,
                address=ctx.client_address,
            ),
            lambda ended: PasswordChanged(ended_sessions=ended),
            VALIDATION | INVALID_CREDENTIALS | RATE_LIMITED,
        )

    @strawberry.mutation(
        description="Delete your account and everything in it for good: contacts, history, "
        "devices, pending pushes and every session. Needs your password (or, for a Firebase "
        "account, a fresh Firebase ID token)."
    )
    async def delete_account(
        self, info: Info[Context, None], input: DeleteAccountInput
    ) -> DeleteAccountResult:
        ctx = info.context
        viewer = await ctx.viewer()
        return await run_call(
            lambda: ctx.accounts.delete_account(
                user_id=viewer.user_id,
                password=input.password,
                firebase_id_token=input.firebase_id_token,
                address=ctx.client_address,
            ),
            lambda _: AccountDeleted(ok=True),
            INVALID_CREDENTIALS | RATE_LIMITED,
        )

    @strawberry.mutation(description="End one of your sessions (see `sessions`).")
    async def revoke_session(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> RevokeSessionResult:
        ctx = info.context
        viewer = await ctx.viewer()
        return await run_call(
            lambda: ctx.accounts.revoke_session(
                user_id=viewer.user_id, session_id=parse_uuid("id", id)
            ),
            lambda revoked: (
                SessionRevoked(id=id) if revoked else not_found(errors.NotFound("Session", str(id)))
            ),
            VALIDATION,
        )

    @strawberry.mutation(description="Change your profile and reminder preferences.")
    async def update_me(self, info: Info[Context, None], input: UpdateMeInput) -> UserResult:
        ctx = info.context
        owner_id = await ctx.owner_id()
        return await run_call(
            lambda: account.update_settings(ctx.engine, owner_id, ctx.clock, to_patch(input)),
            User.from_row,
            VALIDATION,
        )

    @strawberry.mutation(description="Add a person.")
    async def create_contact(
        self, info: Info[Context, None], input: CreateContactInput
    ) -> ContactResult:
        patch = to_patch(input)
        return await run_write(
            info.context, lambda w: contact.create_contact(w, new_id(), patch), Contact.from_row
        )

    @strawberry.mutation(description="Change the fields you send; the others stay.")
    async def update_contact(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateContactInput
    ) -> ContactResult:
        patch = to_patch(input)
        return await run_write(
            info.context,
            lambda w: contact.update_contact(w, parse_uuid("id", id), patch),
            Contact.from_row,
        )

    @strawberry.mutation(description="Delete a contact; restoreContact brings it back.")
    async def delete_contact(self, info: Info[Context, None], id: strawberry.ID) -> DeleteResult:
        return await run_write(
            info.context,
            lambda w: contact.delete_contact(w, parse_uuid("id", id)),
            deleted("contact"),
        )

    @strawberry.mutation(description="Bring back a deleted contact with its history and tags.")
    async def restore_contact(self, info: Info[Context, None], id: strawberry.ID) -> ContactResult:
        return await run_write(
            info.context,
            lambda w: contact.restore_contact(w, parse_uuid("id", id)),
            Contact.from_row,
        )

    @strawberry.mutation(description="Record an interaction with one or more contacts.")
    async def log_interaction(
        self, info: Info[Context, None], input: LogInteractionInput
    ) -> InteractionResult:
        ctx = info.context
        patch = to_patch(input)
        if patch.get("occurredAt") is None:
            patch["occurredAt"] = ctx.clock.now()
        return await run_write(
            ctx, lambda w: interaction.log_interaction(w, new_id(), patch), Interaction.from_row
        )

    @strawberry.mutation(description="Change the fields you send; the others stay.")
    async def update_interaction(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateInteractionInput
    ) -> InteractionResult:
        patch = to_patch(input)
        return await run_write(
            info.context,
            lambda w: interaction.update_interaction(w, parse_uuid("id", id), patch),
            Interaction.from_row,
        )

    @strawberry.mutation(description="Delete an interaction; restoreInteraction brings it back.")
    async def delete_interaction(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> DeleteResult:
        return await run_write(
            info.context,
            lambda w: interaction.set_interaction_alive(w, parse_uuid("id", id), alive=False),
            deleted("interaction"),
        )

    @strawberry.mutation(description="Bring back a deleted interaction.")
    async def restore_interaction(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> InteractionResult:
        return await run_write(
            info.context,
            lambda w: interaction.set_interaction_alive(w, parse_uuid("id", id), alive=True),
            Interaction.from_row,
        )

    @strawberry.mutation(description="Create a tag; a name you already use returns that tag.")
    async def create_tag(self, info: Info[Context, None], input: CreateTagInput) -> TagResult:
        patch = to_patch(input)
        return await run_write(
            info.context, lambda w: tag.create_tag(w, new_id(), patch), Tag.from_row, conflict=True
        )

    @strawberry.mutation(description="Rename a tag.")
    async def rename_tag(
        self, info: Info[Context, None], id: strawberry.ID, name: str
    ) -> TagResult:
        return await run_write(
            info.context,
            lambda w: tag.update_tag(w, parse_uuid("id", id), {"name": name}),
            Tag.from_row,
            conflict=True,
        )

    @strawberry.mutation(description="Delete a tag; contacts lose it.")
    async def delete_tag(self, info: Info[Context, None], id: strawberry.ID) -> DeleteResult:
        return await run_write(
            info.context, lambda w: tag.delete_tag(w, parse_uuid("id", id)), deleted("tag")
        )

    @strawberry.mutation(description="Put a tag on contacts (at most 100 at a time).")
    async def tag_contacts(
        self, info: Info[Context, None], tag_id: strawberry.ID, contact_ids: list[strawberry.ID]
    ) -> TagResult:
        return await run_write(
            info.context,
            lambda w: _set_membership(w, tag_id, contact_ids, tagged=True),
            Tag.from_row,
            conflict=True,
        )

    @strawberry.mutation(description="Take a tag off contacts (at most 100 at a time).")
    async def untag_contacts(
        self, info: Info[Context, None], tag_id: strawberry.ID, contact_ids: list[strawberry.ID]
    ) -> TagResult:
        return await run_write(
            info.context,
            lambda w: _set_membership(w, tag_id, contact_ids, tagged=False),
            Tag.from_row,
            conflict=True,
        )


async def _set_membership(
    w: Writer, tag_id: strawberry.ID, contact_ids: list[strawberry.ID], *, tagged: bool
) -> sa.RowMapping:
    if not 1 <= len(contact_ids) <= 100:
        raise errors.ValidationFailed(
            [errors.FieldError("contactIds", f"send 1 to 100 contact ids, not {len(contact_ids)}")]
        )
    return await tag.set_membership(
        w, parse_uuid("tagId", tag_id), [parse_uuid("contactIds", v) for v in contact_ids], tagged
    )
