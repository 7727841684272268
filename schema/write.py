"""The one way a resolver runs a write: one call, expected failures as GraphQL types.

A mutation resolver parses its arguments, hands ``run_write`` the write (a function of the
``Writer``, from ``sync/``) and how to show its result, and returns what it answers:

    return await run_write(ctx, lambda w: contact.delete_contact(w, key), deleted("contact"))

The result is mapped after the transaction commits. The answer's type names the failures a
field's union can hold: ``Conflict`` only when the caller asks for it (``conflict=True``), so a
union without it never receives one; a field with failures of its own names them all
(``failures=``, a ``schema.errors.Failures``).

A write that owns its transaction below ``schema/`` (the account service, devices, settings,
an import) goes through ``run_call`` with the failures its field answers:

    return await run_call(lambda: accounts.sign_in(...), payload, INVALID_CREDENTIALS)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar, overload

import strawberry

from schema.context import Context
from schema.errors import (
    CONFLICT,
    NOT_FOUND,
    VALIDATION,
    Conflict,
    Deleted,
    Failures,
    NotFound,
    ValidationError,
)
from sync.writer import Writer, open_writer

R = TypeVar("R")
T = TypeVar("T")
F = TypeVar("F")

# What every write can fail with: input that breaks a rule, an id naming no row.
WRITE_FAILURES = VALIDATION | NOT_FOUND


async def run_call(
    call: Callable[[], Awaitable[R]], to_type: Callable[[R], T], failures: Failures[F]
) -> T | F:
    """Await ``call()`` and map its result with ``to_type``; a failure ``failures`` names
    becomes its GraphQL type, any other propagates.

    ``call`` is a function, so that parsing its arguments (``parse_uuid``) fails inside.
    """
    try:
        result = await call()
    except Exception as exc:
        show = failures.find(exc)
        if show is None:
            raise
        return show(exc)
    return to_type(result)


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


@overload
async def run_write(
    ctx: Context,
    action: Callable[[Writer], Awaitable[R]],
    to_type: Callable[[R], T],
    *,
    failures: Failures[F],
) -> T | F: ...


async def run_write(
    ctx: Context,
    action: Callable[[Writer], Awaitable[R]],
    to_type: Callable[[R], T],
    *,
    conflict: bool = False,
    failures: Failures[F] | None = None,
) -> T | F | ValidationError | NotFound | Conflict:
    """Run ``action`` in one write transaction and map its result with ``to_type``.

    Expected failures roll the transaction back and become their GraphQL types; a
    ``Conflict`` the field cannot answer (``conflict=False``) is an unexpected error.
    """
    owner_id = await ctx.owner_id()

    async def write() -> R:
        async with open_writer(ctx.engine, owner_id, ctx.clock) as w:
            return await action(w)

    if failures is not None:
        return await run_call(write, to_type, failures)
    if conflict:
        return await run_call(write, to_type, WRITE_FAILURES | CONFLICT)
    return await run_call(write, to_type, WRITE_FAILURES)


def deleted(entity: str) -> Callable[[Mapping[Any, Any]], Deleted]:
    """Show a deleted row as ``Deleted``."""
    return lambda row: Deleted(id=strawberry.ID(str(row["id"])), entity=entity)
