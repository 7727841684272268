"""Ids as clients send them: UUID text, parsed with an answer that says what to fix."""

from __future__ import annotations

from uuid import UUID

from model.errors import FieldError, ValidationFailed

EXAMPLE_ID = "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f"


def parse_uuid(field: str, value: str) -> UUID:
    """Parse an id sent by a client, raising ValidationFailed naming the field."""
    try:
        return UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise ValidationFailed(
            [
                FieldError(
                    field,
                    f"{value!r} is not an id; ids are UUIDs like {EXAMPLE_ID}",
                )
            ]
        ) from None
