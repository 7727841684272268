"""Expected failures as GraphQL types, and masking of unexpected ones.

Mutations return unions of their result and the failures a client can act on. Arguments of
queries that are out of range (a page of 10,000, a cursor from elsewhere) fail the field with
a GraphQL error whose ``extensions.code`` is ``BAD_USER_INPUT``. Anything unexpected is logged
with the request id and reaches the client as ``INTERNAL_SERVER_ERROR`` with that id only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from model import errors

log = logging.getLogger("rapport.api")

E = TypeVar("E", bound=Exception)
G = TypeVar("G")
H = TypeVar("H")

# Errors raised on purpose keep their message; everything else is masked.
EXPECTED_CODES = {
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "GRAPHQL_VALIDATION_FAILED",
    "VERSION_NOT_SUPPORTED",
}


@strawberry.type(description="One field that needs fixing, and how.")
class FieldProblem:
    field: str
    message: str


@strawberry.type(description="The input breaks a rule; `fields` says what to fix in each field.")
class ValidationError:
    message: str
    fields: list[FieldProblem]


@strawberry.type(description="No object of this kind with this id exists in your account.")
class NotFound:
    message: str
    entity: str
    id: strawberry.ID


@strawberry.type(description="The change collides with data that already exists.")
class Conflict:
    message: str


@strawberry.type(description="The email and password, or the refresh token, were not accepted.")
class InvalidCredentials:
    message: str


@strawberry.type(
    description="Too many attempts in a short time; wait `retryAfter` seconds, then try again."
)
class RateLimited:
    message: str
    retry_after: int = strawberry.field(description="Seconds to wait before the next attempt.")


@strawberry.type(
    description="Confirm your email first: use the link sent to it, or ask for a new one with "
    "requestEmailVerification."
)
class EmailUnverified:
    message: str


@strawberry.type(description="The object was deleted; restore it with its restore mutation.")
class Deleted:
    id: strawberry.ID
    entity: str


def validation_error(exc: errors.ValidationFailed) -> ValidationError:
    problems = [FieldProblem(field=e.field, message=e.message) for e in exc.errors]
    summary = "; ".join(f"{p.field}: {p.message}" for p in problems)
    return ValidationError(message=f"Fix the input: {summary}", fields=problems)


def not_found(exc: errors.NotFound) -> NotFound:
    return NotFound(message=str(exc), entity=exc.entity, id=strawberry.ID(exc.id))


class Failures(Generic[G]):
    """The expected failures one field answers, each with the GraphQL type it shows as.

    Made by ``expect`` and joined with ``|``: ``VALIDATION | RATE_LIMITED`` is a
    ``Failures[ValidationError | RateLimited]``, so mypy holds a resolver's union to every type
    its failures can become. A failure it does not name is unexpected and propagates.
    """

    def __init__(self, shows: Mapping[type[Exception], Callable[[Exception], G]]) -> None:
        self._shows = dict(shows)

    def __or__(self, other: Failures[H]) -> Failures[G | H]:
        shows: dict[type[Exception], Callable[[Exception], G | H]] = {}
        shows.update(self._shows)
        shows.update(other._shows)
        return Failures(shows)

    def find(self, exc: Exception) -> Callable[[Exception], G] | None:
        """How to show ``exc``: its own class's way first, then its base classes' (so
        ``sync.merge.ContactMerged`` is not shown as the ``Conflict`` it also is)."""
        for kind in type(exc).__mro__:
            if kind in self._shows:
                return self._shows[kind]
        return None


def expect(kind: type[E], show: Callable[[E], G]) -> Failures[G]:
    """The failure ``kind`` (and its subclasses), answered as ``show(exc)``."""

    def show_any(exc: Exception) -> G:
        assert isinstance(exc, kind), "Failures.find hands each way only its own kind"
        return show(exc)

    return Failures({kind: show_any})


# Each expected failure of model.errors and its GraphQL type, once.
VALIDATION = expect(errors.ValidationFailed, validation_error)
NOT_FOUND = expect(errors.NotFound, not_found)
CONFLICT = expect(errors.Conflict, lambda exc: Conflict(message=exc.message))
INVALID_CREDENTIALS = expect(
    errors.InvalidCredentials, lambda exc: InvalidCredentials(message=exc.message)
)
EMAIL_UNVERIFIED = expect(errors.EmailNotVerified, lambda exc: EmailUnverified(message=exc.message))
RATE_LIMITED = expect(
    errors.RateLimited, lambda exc: RateLimited(message=exc.message, retry_after=exc.retry_after)
)


def bad_input(field: str, message: str) -> GraphQLError:
    """Return the error for a query argument that is out of range."""
    return GraphQLError(
        f"{field}: {message}", extensions={"code": "BAD_USER_INPUT", "field": field}
    )


def unauthenticated(exc: errors.Unauthenticated) -> GraphQLError:
    return GraphQLError(exc.message, extensions={"code": "UNAUTHENTICATED"})


class MaskUnexpectedErrors(SchemaExtension):
    """Replace unexpected errors with a request id, logging the original with its traceback."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", "-")
        masked: list[GraphQLError] = []
        for error in result.errors:
            code = (error.extensions or {}).get("code")
            if code in EXPECTED_CODES or error.original_error is None:
                masked.append(error)
                continue
            if error.path is None or isinstance(error.original_error, GraphQLError):
                # A request refused before any resolver ran (a variable of the wrong type or
                # an unknown enum value): the client's mistake, explained by the message.
                masked.append(
                    GraphQLError(
                        error.message,
                        nodes=error.nodes,
                        path=error.path,
                        extensions={**(error.extensions or {}), "code": "BAD_USER_INPUT"},
                    )
                )
                continue
            log.error(
                "unexpected error in %s (request %s)",
                ".".join(str(p) for p in error.path or []),
                request_id,
                exc_info=error.original_error,
            )
            masked.append(
                GraphQLError(
                    f"Something went wrong on our side; quote request id {request_id}.",
                    nodes=error.nodes,
                    path=error.path,
                    extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
                )
            )
        result.errors = masked
