"""What can go wrong on the write path, each with a message that says what to fix.

RapportError
 ├── ValidationFailed   input breaks a rule; ``errors`` lists each field and how to fix it
 ├── NotFound           the id names no row of this owner (another owner's row looks the same)
 ├── Conflict           the write collides with existing data (a tag name already used)
 ├── InvalidCredentials sign-in or refresh with a wrong password or a spent token
 ├── RateLimited        too many attempts (sign-in, sign-up); ``retry_after`` says when to retry
 └── Unauthenticated    no valid access token: missing, expired, tampered with or revoked
"""

from __future__ import annotations

from dataclasses import dataclass


class RapportError(Exception):
    """Base class of expected failures."""


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ValidationFailed(RapportError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class NotFound(RapportError):
    def __init__(self, entity: str, id: object) -> None:
        self.entity = entity
        self.id = str(id)
        super().__init__(f"No {entity} with id {id} exists for this account.")


class Conflict(RapportError):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class InvalidCredentials(RapportError):
    """The email and password (or refresh token) do not match an active account."""

    def __init__(self, message: str = "The email or password is wrong.") -> None:
        self.message = message
        super().__init__(message)


class RateLimited(RapportError):
    """Too many attempts in a short time; wait ``retry_after`` seconds before the next."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        self.message = f"Too many attempts; try again in {retry_after} seconds."
        super().__init__(self.message)


class Unauthenticated(RapportError):
    """The request carries no valid access token."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class EmailNotVerified(RapportError):
    """The account's email is not proven its owner's, and the action is found by that email."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
