"""The one way a resolver runs a write: one transaction, expected failures as GraphQL types.

A mutation resolver parses its arguments, hands ``run_write`` the write (a function of the
``Writer``, from ``sync/``) and how to show its result, and returns what it answers:

    return await run_write(ctx, lambda w: contact.delete_contact(w, key), deleted("contact"))

The result is mapped after the transaction commits. The answer's type names the failures a
field's union can hold: ``Conflict`` only when the caller asks for it (``conflict=True``), so a
union without it never receives one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar, overload

import strawberry

from model import errors
from schema.context import Context
from schema.errors import Conflict, Deleted, NotFound, ValidationError, not_found, validation_error
from sync.writer import Writer, open_writer

R = TypeVar("R")
T = TypeVar("T")


@overload
async def run_write(
    ctx: Context,
    action: Callable[[Writer], Awaitable[R]],
    to_type: Callable[[R], T],
    *,
    conflict: Literal[False] = False,
) -> T | ValidationError | NotFound: ...


@overload
async def run_write(
    ctx: Context,
    action: Callable[[Writer], Awaitable[R]],
    to_type: Callable[[R], T],
    *,
    conflict: Literal[True],
) -> T | ValidationError | NotFound | Conflict: ...


async def run_write(
    ctx: Context,
    action: Callable[[Writer], Awaitable[R]],
    to_type: Callable[[R], T],
    *,
    conflict: bool = False,
) -> T | ValidationError | NotFound | Conflict:
    """Run ``action`` in one write transaction and map its result with ``to_type``.

    Expected failures roll the transaction back and become their GraphQL types; a
    ``Conflict`` the field cannot answer (``conflict=False``) is an unexpected error.
    """
    owner_id = await ctx.owner_id()
    try:
        async with open_writer(ctx.engine, owner_id, ctx.clock) as w:
            result = await action(w)
    except errors.ValidationFailed as exc:
        return validation_error(exc)
    except errors.NotFound as exc:
        return not_found(exc)
    except errors.Conflict as exc:
        if not conflict:
            raise
        return Conflict(message=exc.message)
    return to_type(result)


def deleted(entity: str) -> Callable[[Mapping[Any, Any]], Deleted]:
    """Show a deleted row as ``Deleted``."""
    return lambda row: Deleted(id=strawberry.ID(str(row["id"])), entity=entity)
