"""Read operations. Each resolver reads its input, calls ``store``, and maps rows to types."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types import Info

from model import errors
from model.errors import ValidationFailed
from model.ids import parse_uuid
from model.pages import DEFAULT_PAGE
from schema.context import Context
from schema.enums import ContactOrder
from schema.errors import NotFound, ValidationError, bad_input, not_found, validation_error
from schema.inputs import ContactFilter
from schema.nodes import Contact, Interaction, Session, Tag, User
from schema.pagination import (
    Connection,
    build_connection,
    check_first,
    check_page,
    counting,
    read_after,
)
from store import accounts, contacts, interactions, tags

ContactLookup = Annotated[Contact | NotFound | ValidationError, strawberry.union("ContactLookup")]
InteractionLookup = Annotated[
    Interaction | NotFound | ValidationError, strawberry.union("InteractionLookup")
]


def _id_argument(field: str, value: str) -> UUID:
    try:
        return parse_uuid(field, value)
    except ValidationFailed as exc:
        raise bad_input(field, exc.errors[0].message) from None


async def _contact_filter(
    ctx: Context, owner_id: UUID, where: ContactFilter | None
) -> contacts.ContactFilter:
    if where is None:
        return contacts.ContactFilter()
    window = None
    if where.birthday_within_days is not None:
        days = where.birthday_within_days
        if not 0 <= days <= 366:
            raise bad_input("filter.birthdayWithinDays", f"use 0 to 366 days, not {days}")
        async with ctx.engine.connect() as conn:
            user = await accounts.get_user(conn, user_id=owner_id)
        assert user is not None
        window = (ctx.clock.now().astimezone(ZoneInfo(user["time_zone"])).date(), days)
    if where.search is not None and len(where.search) > 200:
        raise bad_input("filter.search", "search for at most 200 characters")
    return contacts.ContactFilter(
        search=where.search,
        tag_ids=[_id_argument("filter.tagIds", t) for t in where.tag_ids or []],
        company=where.company,
        stages=[s.value for s in where.stages or []],
        follow_up_before=where.follow_up_due_before,
        birthday_window=window,
    )


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info[Context, None]) -> User:
        ctx = info.context
        owner_id = await ctx.owner_id()
        async with ctx.engine.connect() as conn:
            row = await accounts.get_user(conn, user_id=owner_id)
        assert row is not None
        return User.from_row(row)

    @strawberry.field(description="Your active sessions (sign-ins), newest first.")
    async def sessions(self, info: Info[Context, None]) -> list[Session]:
        ctx = info.context
        viewer = await ctx.viewer()
        rows = await ctx.accounts.list_sessions(user_id=viewer.user_id)
        return [
            Session(
                id=strawberry.ID(str(row["id"])),
                created_at=row["created_at"],
                expires_at=row["expires_at"],
                current=row["id"] == viewer.session_id,
            )
            for row in rows
        ]

    @strawberry.field(description="One contact by id.")
    async def contact(self, info: Info[Context, None], id: strawberry.ID) -> ContactLookup:
        ctx = info.context
        await ctx.viewer()
        try:
            contact_id = parse_uuid("id", id)
        except ValidationFailed as exc:
            return validation_error(exc)
        row = await (await ctx.loaders()).contact.load(contact_id)
        if row is None:
            return not_found(errors.NotFound("contact", id))
        return Contact.from_row(row)

    @strawberry.field(
        description=(
            "Your contacts, a page at a time: `first` (default 20) after a cursor, or `last` "
            "before one. `after` and `before` together bound the page on both sides."
        )
    )
    async def contacts(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: ContactFilter | None = None,
        order_by: ContactOrder = ContactOrder.NAME,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Contact]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        page = check_page(first, last, ctx.max_page_size)
        order = order_by
        keys = contacts.ORDERINGS[order]
        tag = f"contacts:{order.value}"
        cursor = read_after(tag, keys, after)
        end = read_after(tag, keys, before, "before")
        where = await _contact_filter(ctx, owner_id, filter)
        async with ctx.engine.connect() as conn:
            rows = await contacts.list_contacts(
                conn,
                owner_id=owner_id,
                where=where,
                order=order,
                after=cursor,
                before=end,
                backward=page.backward,
                limit=page.size + 1,
            )
        count = counting(ctx.engine, contacts.count_contacts, owner_id=owner_id, where=where)
        return build_connection(
            rows,
            page.size,
            tag,
            keys,
            Contact.from_row,
            count,
            after=cursor is not None,
            before=end is not None,
            backward=page.backward,
        )

    @strawberry.field(description="One interaction by id.")
    async def interaction(self, info: Info[Context, None], id: strawberry.ID) -> InteractionLookup:
        ctx = info.context
        owner_id = await ctx.owner_id()
        try:
            interaction_id = parse_uuid("id", id)
        except ValidationFailed as exc:
            return validation_error(exc)
        async with ctx.engine.connect() as conn:
            row = await interactions.get_interaction(
                conn, owner_id=owner_id, interaction_id=interaction_id
            )
        if row is None:
            return not_found(errors.NotFound("interaction", id))
        return Interaction.from_row(row)

    @strawberry.field(description="Interactions, newest first: all, or one contact's.")
    async def interactions(
        self,
        info: Info[Context, None],
        contact_id: strawberry.ID | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> Connection[Interaction]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        first = check_first(first, ctx.max_page_size)
        contact = None if contact_id is None else _id_argument("contactId", contact_id)
        if contact is not None and await (await ctx.loaders()).contact.load(contact) is None:
            raise bad_input("contactId", f"no contact with id {contact_id} exists for this account")
        keys = interactions.ALL if contact is None else interactions.BY_CONTACT
        tag = "interactions" if contact is None else f"interactions:{contact}"
        cursor = read_after(tag, keys, after)
        async with ctx.engine.connect() as conn:
            rows = await interactions.list_interactions(
                conn, owner_id=owner_id, contact_id=contact, after=cursor, limit=first + 1
            )
        count = counting(
            ctx.engine, interactions.count_interactions, owner_id=owner_id, contact_id=contact
        )
        return build_connection(
            rows, first, tag, keys, Interaction.from_row, count, after=cursor is not None
        )

    @strawberry.field(description="Your tags, by name.")
    async def tags(self, info: Info[Context, None]) -> list[Tag]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        async with ctx.engine.connect() as conn:
            rows = await tags.list_tags(conn, owner_id=owner_id)
        return [Tag.from_row(row) for row in rows]
