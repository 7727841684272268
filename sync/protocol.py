"""What a device must send to sync: a supported schema version, a client id, page and push sizes.

The resolvers (``schema/sync.py``) answer a refusal as a GraphQL error; the compiled pull
(``reads/pull.py``) asks the same rules and leaves a refused pull to the resolver.
"""

from __future__ import annotations

from collections.abc import Sequence

from model.errors import FieldError, RapportError, ValidationFailed
from sync.client import MAX_CLIENT_ID
from sync.pull import MAX_PAGE
from sync.push import MAX_MUTATIONS, Mutation

# Clients older than this must upgrade before they sync.
MIN_SCHEMA_VERSION = 1
CURRENT_SCHEMA_VERSION = 1


class UnsupportedVersion(RapportError):
    """The client speaks a schema version this server does not; the app must update."""

    def __init__(self, schema_version: int) -> None:
        self.minimum = MIN_SCHEMA_VERSION
        self.current = CURRENT_SCHEMA_VERSION
        self.message = (
            f"schemaVersion {schema_version} is not supported; this server speaks "
            f"{MIN_SCHEMA_VERSION} to {CURRENT_SCHEMA_VERSION}. Update the app."
        )
        super().__init__(self.message)


def check_client_id(client_id: str) -> None:
    """Raise ``ValidationFailed`` (field ``clientId``) for an id of the wrong length."""
    if not 1 <= len(client_id) <= MAX_CLIENT_ID:
        problem = f"use 1 to {MAX_CLIENT_ID} characters, such as a UUID per install"
        raise ValidationFailed([FieldError("clientId", problem)])


def check_protocol(client_id: str, schema_version: int) -> None:
    """Raise ``UnsupportedVersion`` or ``ValidationFailed`` for a push or pull's header."""
    if schema_version < MIN_SCHEMA_VERSION or schema_version > CURRENT_SCHEMA_VERSION:
        raise UnsupportedVersion(schema_version)
    check_client_id(client_id)


def check_pull(client_id: str, schema_version: int, limit: int) -> None:
    """Raise what a syncPull with these arguments is refused with, if anything."""
    check_protocol(client_id, schema_version)
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed([FieldError("limit", f"ask for 1 to {MAX_PAGE} changes per page")])


def check_push(client_id: str, schema_version: int, mutations: Sequence[Mutation]) -> None:
    """Raise what a syncPush of these mutations is refused with, if anything.

    Each mutation is judged by the write path (applied or REJECTED); these rules refuse
    the whole push.
    """
    check_protocol(client_id, schema_version)
    if len(mutations) > MAX_MUTATIONS:
        problem = f"push at most {MAX_MUTATIONS} mutations at a time"
        raise ValidationFailed([FieldError("input.mutations", problem)])
    if any(m.id < 1 for m in mutations):
        raise ValidationFailed([FieldError("input.mutations", "mutation ids start at 1")])
